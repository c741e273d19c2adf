//! A small XML tree for SAML: elements with their attributes (namespace
//! declarations included, as written) and text, parsed with quick-xml. Comments and
//! processing instructions are dropped (exclusive canonicalisation without comments
//! would drop them too); a DOCTYPE is refused (no entity expansion, ever).

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::kernel::error::{DomainError, DomainResult};

/// Attribute prefix of namespace declarations.
const XMLNS: &str = "xmlns";

/// A node of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// An element.
    Element(Element),
    /// Character data (entities decoded).
    Text(String),
}

/// An element: its qualified name, its attributes in document order, its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// `prefix:local` or `local`.
    pub name: String,
    /// `(qualified name, value)`, namespace declarations included.
    pub attributes: Vec<(String, String)>,
    /// Children in order.
    pub children: Vec<Node>,
}

fn bad(why: impl std::fmt::Display) -> DomainError {
    DomainError::invalid(
        "SAMLResponse",
        "xml",
        format!("the SAML message is not well-formed XML: {why}"),
    )
}

fn start(e: &BytesStart<'_>) -> DomainResult<Element> {
    let name = String::from_utf8(e.name().as_ref().to_vec()).map_err(bad)?;
    let mut attributes = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(bad)?;
        let key = String::from_utf8(attr.key.as_ref().to_vec()).map_err(bad)?;
        let value = attr.unescape_value().map_err(bad)?.into_owned();
        attributes.push((key, value));
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
    })
}

/// Parses a document and returns its root element.
pub fn parse(text: &str) -> DomainResult<Element> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().map_err(bad)? {
            Event::Start(e) => {
                if stack.len() >= 64 {
                    return Err(bad("nested too deeply"));
                }
                stack.push(start(&e)?);
            }
            Event::Empty(e) => {
                let element = start(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(element)),
                    None => root = Some(element),
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| bad("unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(element)),
                    None => root = Some(element),
                }
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(bad)?.into_owned();
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Node::Text(text));
                }
            }
            Event::CData(c) => {
                let text = String::from_utf8(c.into_inner().into_owned()).map_err(bad)?;
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Node::Text(text));
                }
            }
            Event::DocType(_) => return Err(bad("document type declarations are not accepted")),
            Event::Eof => break,
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(bad("unclosed element"));
    }
    root.ok_or_else(|| bad("no root element"))
}

impl Element {
    /// The prefix of the element's name (`""` for none).
    pub fn prefix(&self) -> &str {
        self.name.split_once(':').map_or("", |(p, _)| p)
    }

    /// The local part of the element's name.
    pub fn local(&self) -> &str {
        self.name
            .split_once(':')
            .map_or(self.name.as_str(), |(_, l)| l)
    }

    /// An attribute's value by its qualified name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Namespace declarations made on this element: `(prefix, uri)`, `""` for the default.
    pub fn declarations(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attributes.iter().filter_map(|(k, v)| {
            if k == XMLNS {
                Some(("", v.as_str()))
            } else {
                k.strip_prefix("xmlns:").map(|p| (p, v.as_str()))
            }
        })
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element with this local name.
    pub fn child(&self, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.local() == local)
    }

    /// The element's text content (concatenated text children).
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect()
    }
}

/// In-scope namespace bindings: `(prefix, uri)` pairs, innermost last.
pub type Scope = Vec<(String, String)>;

/// The bindings in scope inside `element` given those of its parent.
pub fn scope_of(parent: &Scope, element: &Element) -> Scope {
    let mut scope = parent.clone();
    for (prefix, uri) in element.declarations() {
        scope.push((prefix.to_owned(), uri.to_owned()));
    }
    scope
}

/// The URI a prefix is bound to in `scope` (`""` prefix: the default namespace).
pub fn resolve<'a>(scope: &'a Scope, prefix: &str) -> Option<&'a str> {
    match prefix {
        "xml" => Some("http://www.w3.org/XML/1998/namespace"),
        _ => scope
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str())
            .filter(|u| !u.is_empty() || prefix.is_empty()),
    }
}
