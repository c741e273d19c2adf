//! Exclusive XML Canonicalization 1.0, without comments
//! (<http://www.w3.org/2001/10/xml-exc-c14n#>): the byte form a SAML signature
//! covers. Namespace declarations appear where they are visibly used and not already
//! in force from an output ancestor, sorted by prefix; attributes sort by namespace
//! URI then local name; empty elements get an end tag; text and attribute values are
//! escaped as the recommendation says.

use super::xml::{resolve, scope_of, Element, Node, Scope};

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            other => out.push(other),
        }
    }
}

fn escape_attr(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            other => out.push(other),
        }
    }
}

/// Canonical form of `element` (whose parent's in-scope namespaces are `parent`),
/// leaving out `skip` (the enveloped signature) wherever it occurs.
pub fn canonicalize(element: &Element, parent: &Scope, skip: Option<&Element>) -> String {
    let mut out = String::new();
    write(element, parent, &Vec::new(), skip, &mut out);
    out
}

fn write(
    element: &Element,
    parent: &Scope,
    rendered: &Scope,
    skip: Option<&Element>,
    out: &mut String,
) {
    let scope = scope_of(parent, element);
    // Prefixes this element visibly uses: its own, and its prefixed attributes'.
    let mut used: Vec<&str> = vec![element.prefix()];
    for (name, _) in &element.attributes {
        if name == "xmlns" || name.starts_with("xmlns:") {
            continue;
        }
        if let Some((prefix, _)) = name.split_once(':') {
            if prefix != "xml" && !used.contains(&prefix) {
                used.push(prefix);
            }
        }
    }
    let mut declarations: Vec<(String, String)> = Vec::new();
    let mut now_rendered = rendered.clone();
    for prefix in used {
        if prefix == "xml" {
            continue;
        }
        let uri = resolve(&scope, prefix).unwrap_or("");
        let in_force = resolve(rendered, prefix).unwrap_or("");
        if uri != in_force {
            declarations.push((prefix.to_owned(), uri.to_owned()));
            now_rendered.push((prefix.to_owned(), uri.to_owned()));
        }
    }
    declarations.sort();
    let mut attributes: Vec<(String, &str, &str, &str)> = element
        .attributes
        .iter()
        .filter(|(name, _)| name != "xmlns" && !name.starts_with("xmlns:"))
        .map(|(name, value)| {
            let (uri, local) = match name.split_once(':') {
                Some((prefix, local)) => (resolve(&scope, prefix).unwrap_or("").to_owned(), local),
                None => (String::new(), name.as_str()),
            };
            (uri, local, name.as_str(), value.as_str())
        })
        .collect();
    attributes.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));

    out.push('<');
    out.push_str(&element.name);
    for (prefix, uri) in &declarations {
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        escape_attr(uri, out);
        out.push('"');
    }
    for (_, _, qname, value) in &attributes {
        out.push(' ');
        out.push_str(qname);
        out.push_str("=\"");
        escape_attr(value, out);
        out.push('"');
    }
    out.push('>');
    for child in &element.children {
        match child {
            Node::Text(text) => escape_text(text, out),
            Node::Element(e) => {
                if skip.is_some_and(|s| std::ptr::eq(s, e)) {
                    continue;
                }
                write(e, &scope, &now_rendered, skip, out);
            }
        }
    }
    out.push_str("</");
    out.push_str(&element.name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::super::xml::parse;
    use super::*;

    #[test]
    fn namespaces_appear_where_used_and_attributes_sort() {
        let doc = parse(r#"<a:root xmlns:a="urn:a" xmlns:b="urn:b" xmlns:unused="urn:u" z="1" b:y="2" a="3"><a:child/><plain xmlns="urn:d">x &amp; y</plain></a:root>"#).unwrap();
        assert_eq!(
            canonicalize(&doc, &Vec::new(), None),
            r#"<a:root xmlns:a="urn:a" xmlns:b="urn:b" a="3" z="1" b:y="2"><a:child></a:child><plain xmlns="urn:d">x &amp; y</plain></a:root>"#
        );
    }

    #[test]
    fn a_subtree_brings_the_namespaces_it_uses_from_its_ancestors() {
        let doc =
            parse(r#"<r xmlns:s="urn:s" xmlns:t="urn:t"><s:a ID="1"><s:b>v</s:b><t:c/></s:a></r>"#)
                .unwrap();
        let a = doc.child("a").unwrap();
        let parent = scope_of(&Vec::new(), &doc);
        assert_eq!(
            canonicalize(a, &parent, None),
            r#"<s:a xmlns:s="urn:s" ID="1"><s:b>v</s:b><t:c xmlns:t="urn:t"></t:c></s:a>"#
        );
    }
}
