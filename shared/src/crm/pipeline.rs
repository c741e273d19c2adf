//! Pipelines and their ordered stages: the board a deal moves across. A pipeline has
//! open stages, each with the chance a deal in it is won and the days without
//! activity after which such a deal is stale, and exactly one won and one lost stage.

use serde::{Deserialize, Serialize};

use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::validate::{text, Input, Validator};

crate::wire_enum!(
    /// Whether a stage is still being worked, or closes the deal.
    StageKind, "of the stage kinds" {
        /// The deal is being worked.
        Open = "open",
        /// Reaching it wins the deal.
        Won = "won",
        /// Reaching it loses the deal (a reason is required).
        Lost = "lost",
    }
);

/// Stages a pipeline may have.
pub const MAX_STAGES: usize = 30;
/// Days without activity before a deal is stale, unless the stage says otherwise.
pub const DEFAULT_ROTTING_DAYS: i64 = 30;

/// A stage of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// `stg_…`
    pub id: String,
    /// Shown on the board.
    pub name: String,
    /// Open, won or lost.
    pub kind: StageKind,
    /// Chance (0–100) that a deal here is won; 100 for won, 0 for lost.
    pub probability: i64,
    /// Days without activity after which an open deal here is stale.
    pub rotting_days: i64,
    /// Order on the board, from 0.
    pub position: i64,
}

/// A pipeline with its stages in board order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    /// `pip_…`
    pub id: String,
    /// Unique in the firm.
    pub name: String,
    /// New deals go here unless told otherwise; exactly one per firm.
    pub is_default: bool,
    /// An inactive pipeline takes no new deals.
    pub is_active: bool,
    /// The stages, in board order.
    pub stages: Vec<Stage>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Pipeline {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        crate::kernel::etag::of(self.version)
    }

    /// The stage with `id`, if it is one of this pipeline's.
    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    /// Where new deals start: the first open stage.
    pub fn first_open(&self) -> Option<&Stage> {
        self.stages.iter().find(|s| s.kind == StageKind::Open)
    }
}

/// A stage as asked for: an existing one keeps its `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageInput {
    /// The stage it replaces, when it is an existing one.
    pub id: Option<String>,
    /// 1–60 characters, unique in the pipeline.
    pub name: String,
    /// Open unless said.
    pub kind: StageKind,
    /// For open stages; spread evenly when left out.
    pub probability: Option<i64>,
    /// 1–365; 30 when left out.
    pub rotting_days: i64,
}

/// The checked stages of a pipeline, in order, with every probability decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagePlan(pub Vec<(StageInput, i64)>);

/// Reads and checks `stages`: 2–30 stages, distinct names, at least one open stage,
/// exactly one won and one lost; open stages left without a probability get one
/// spread evenly between 0 and 100 in board order.
pub fn parse_stages(v: &mut Validator, input: &Input<'_>) -> Option<StagePlan> {
    let list = input.array(v, "stages", true)?;
    let mut stages = Vec::new();
    let mut ok = true;
    for (i, raw) in list.iter().enumerate() {
        let path = format!("stages[{i}]");
        let Some(obj) = raw.as_object() else {
            v.add(path.clone(), "type", format!("{path} must be an object"));
            ok = false;
            continue;
        };
        let value = serde_json::Value::Object(obj.clone());
        match parse_stage(&value, &path) {
            Ok(stage) => stages.push(stage),
            Err(e) => {
                v.take::<()>(Err(e));
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    let count = |kind| {
        stages
            .iter()
            .filter(|s: &&StageInput| s.kind == kind)
            .count()
    };
    let mut problems = Vec::new();
    if !(2..=MAX_STAGES).contains(&stages.len()) {
        problems.push(format!("a pipeline has 2 to {MAX_STAGES} stages"));
    }
    if count(StageKind::Open) == 0 {
        problems.push("a pipeline needs at least one open stage".to_owned());
    }
    if count(StageKind::Won) != 1 || count(StageKind::Lost) != 1 {
        problems.push("a pipeline needs exactly one won and one lost stage".to_owned());
    }
    let mut names: Vec<String> = stages.iter().map(|s| s.name.to_lowercase()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w.first() == w.get(1)) {
        problems.push("stage names must differ".to_owned());
    }
    let mut ids: Vec<&String> = stages.iter().filter_map(|s| s.id.as_ref()).collect();
    let before = ids.len();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != before {
        problems.push("a stage id appears twice".to_owned());
    }
    if !problems.is_empty() {
        v.add("stages", "stages", problems.join("; "));
        return None;
    }
    let open = count(StageKind::Open) as i64;
    let mut nth_open = 0;
    let plan = stages
        .into_iter()
        .map(|s| {
            let probability = match s.kind {
                StageKind::Won => 100,
                StageKind::Lost => 0,
                StageKind::Open => {
                    nth_open += 1;
                    s.probability.unwrap_or((nth_open * 100) / (open + 1))
                }
            };
            (s, probability)
        })
        .collect();
    Some(StagePlan(plan))
}

fn parse_stage(body: &serde_json::Value, path: &str) -> DomainResult<StageInput> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    let field = |name: &str| format!("{path}.{name}");
    for key in input_keys(body) {
        if !["id", "name", "kind", "probability", "rotting_days"].contains(&key.as_str()) {
            v.add(
                field(&key),
                "unknown",
                format!("{} is not a field of a stage", field(&key)),
            );
        }
    }
    let id = input
        .string(&mut v, "id", false)
        .and_then(|raw| v.take(crate::kernel::id::parse(&field("id"), "stg", raw)));
    let name = match input.string(&mut v, "name", false) {
        Some(raw) => v.take(text(&field("name"), raw, 1, 60)),
        None => {
            v.add(
                field("name"),
                "required",
                format!("{} is required", field("name")),
            );
            None
        }
    };
    let kind = input
        .string(&mut v, "kind", false)
        .and_then(|raw| v.take(StageKind::parse(&field("kind"), raw)))
        .unwrap_or(StageKind::Open);
    let probability = input.integer(&mut v, "probability", false);
    if let Some(p) = probability {
        if !(0..=100).contains(&p) {
            v.add(
                field("probability"),
                "range",
                format!("{} must be 0 to 100", field("probability")),
            );
        } else if kind == StageKind::Won && p != 100 || kind == StageKind::Lost && p != 0 {
            v.add(
                field("probability"),
                "closed_stage",
                format!(
                    "{} is 100 for the won stage and 0 for the lost one",
                    field("probability")
                ),
            );
        }
    }
    let rotting_days = input.integer(&mut v, "rotting_days", false);
    if let Some(days) = rotting_days {
        if !(1..=365).contains(&days) {
            v.add(
                field("rotting_days"),
                "range",
                format!("{} must be 1 to 365", field("rotting_days")),
            );
        }
    }
    v.finish()?;
    Ok(StageInput {
        id,
        name: name.unwrap_or_default(),
        kind,
        probability,
        rotting_days: rotting_days.unwrap_or(DEFAULT_ROTTING_DAYS),
    })
}

fn input_keys(body: &serde_json::Value) -> Vec<String> {
    body.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// A checked new pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPipeline {
    /// 1–80 characters.
    pub name: String,
    /// Make it the firm's default (the firm's first pipeline always is).
    pub is_default: bool,
    /// Its stages.
    pub stages: StagePlan,
}

impl NewPipeline {
    /// Reads `{"name", "is_default"?, "stages": [...]}`; new stages carry no id.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["name", "is_default", "stages"]);
        let name = input
            .string(&mut v, "name", true)
            .and_then(|s| v.take(text("name", s, 1, 80)));
        let is_default = input.boolean(&mut v, "is_default", false).unwrap_or(false);
        let stages = parse_stages(&mut v, &input);
        if let Some(plan) = &stages {
            if plan.0.iter().any(|(s, _)| s.id.is_some()) {
                v.add(
                    "stages",
                    "new_stage",
                    "the stages of a new pipeline carry no id",
                );
            }
        }
        v.finish()?;
        match (name, stages) {
            (Some(name), Some(stages)) => Ok(Self {
                name,
                is_default,
                stages,
            }),
            _ => Err(DomainError::invalid(
                "body",
                "required",
                "name and stages are required",
            )),
        }
    }
}

/// A checked change of a pipeline; `None` stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelinePatch {
    /// New name.
    pub name: Option<String>,
    /// `true` makes it the default (the former default stops being it).
    pub is_default: Option<bool>,
    /// Take or stop taking new deals.
    pub is_active: Option<bool>,
    /// The whole new stage list: existing stages by id, new ones without.
    pub stages: Option<StagePlan>,
}

impl PipelinePatch {
    /// Reads `{"name"?, "is_default"?: true, "is_active"?, "stages"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["name", "is_default", "is_active", "stages"]);
        let name = input
            .string(&mut v, "name", false)
            .and_then(|s| v.take(text("name", s, 1, 80)));
        let is_default = input.boolean(&mut v, "is_default", false);
        if is_default == Some(false) {
            v.add(
                "is_default",
                "default",
                "is_default can only be set to true: make another pipeline the default instead",
            );
        }
        let is_active = input.boolean(&mut v, "is_active", false);
        let stages = if input.has("stages") {
            parse_stages(&mut v, &input)
        } else {
            None
        };
        v.finish()?;
        let patch = Self {
            name,
            is_default,
            is_active,
            stages,
        };
        if patch == Self::default() {
            return Err(DomainError::invalid(
                "body",
                "empty",
                "name at least one of name, is_default, is_active, stages",
            ));
        }
        Ok(patch)
    }
}

/// The pipeline most firms start with; a new firm's first pipeline when it asks for
/// the default one.
pub fn starter() -> serde_json::Value {
    serde_json::json!({
        "name": "Sales",
        "is_default": true,
        "stages": [
            {"name": "Qualified", "probability": 10, "rotting_days": 14},
            {"name": "Discovery", "probability": 20, "rotting_days": 21},
            {"name": "Proposal sent", "probability": 50, "rotting_days": 14},
            {"name": "Negotiation", "probability": 75, "rotting_days": 10},
            {"name": "Won", "kind": "won"},
            {"name": "Lost", "kind": "lost"}
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_starter_pipeline_is_valid() {
        let p = NewPipeline::parse(&starter()).unwrap();
        assert_eq!(p.stages.0.len(), 6);
        assert_eq!(p.stages.0[4].1, 100);
        assert_eq!(p.stages.0[5].1, 0);
    }

    #[test]
    fn open_stages_without_a_probability_are_spread_evenly() {
        let p = NewPipeline::parse(&json!({"name": "P", "stages": [
            {"name": "A"}, {"name": "B"}, {"name": "C", "probability": 90},
            {"name": "W", "kind": "won"}, {"name": "L", "kind": "lost"}]}))
        .unwrap();
        let probs: Vec<i64> = p.stages.0.iter().map(|(_, p)| *p).collect();
        assert_eq!(probs, vec![25, 50, 90, 100, 0]);
    }

    #[test]
    fn a_pipeline_needs_open_won_and_lost_stages_with_distinct_names() {
        let err = |body| format!("{:?}", NewPipeline::parse(&body).unwrap_err());
        let text = err(
            json!({"name": "P", "stages": [{"name": "W", "kind": "won"}, {"name": "w", "kind": "won"}]}),
        );
        assert!(
            text.contains("open stage")
                && text.contains("exactly one won")
                && text.contains("differ"),
            "{text}"
        );
        let text = err(
            json!({"name": "P", "stages": [{"name": "A", "probability": 101, "rotting_days": 0, "colour": "red"},
            {"name": "W", "kind": "won", "probability": 50}, {"kind": "lost"}]}),
        );
        for field in [
            "stages[0].probability",
            "stages[0].rotting_days",
            "stages[0].colour",
            "stages[1].probability",
            "stages[2].name",
        ] {
            assert!(text.contains(field), "{field} in {text}");
        }
        let text = err(
            json!({"name": "P", "stages": [{"id": "stg_x", "name": "A"}, {"name": "W", "kind": "won"}, {"name": "L", "kind": "lost"}]}),
        );
        assert!(text.contains("stages[0].id"), "{text}");
    }

    #[test]
    fn a_patch_cannot_unset_the_default() {
        assert!(PipelinePatch::parse(&json!({})).is_err());
        assert!(PipelinePatch::parse(&json!({"is_default": false})).is_err());
        assert_eq!(
            PipelinePatch::parse(&json!({"is_active": false}))
                .unwrap()
                .is_active,
            Some(false)
        );
    }
}
