//! A small JSON Schema validator for the keywords `schema/report-v1.schema.json` (this crate) uses
//! (a subset of draft 2020-12). The schema file is the single description of `report.json`; this
//! checks documents against it without a heavy dependency. A unit test fails when the schema
//! starts using a keyword this validator does not know, so nothing is silently ignored.
use serde_json::Value;

/// Keywords the validator applies (or, for annotations, knowingly ignores).
pub const KNOWN_KEYWORDS: &[&str] = &[
    // annotations
    "$schema",
    "$id",
    "title",
    "description",
    // applied
    "$ref",
    "$defs",
    "type",
    "const",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "items",
    "minLength",
    "pattern",
    "minimum",
    "maximum",
    "oneOf",
    "anyOf",
];

/// One way a document does not match the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON Pointer to the offending value (`/tests/3/status`; empty for the document).
    pub pointer: String,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            self.pointer.as_str()
        };
        write!(f, "at {at}: {}", self.problem)
    }
}

/// Every violation of `schema` by `doc` (empty when it matches).
pub fn validate(schema: &Value, doc: &Value) -> Vec<SchemaViolation> {
    let mut out = Vec::new();
    Validator { root: schema }.check(schema, doc, "", &mut out);
    out
}

struct Validator<'a> {
    root: &'a Value,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(v: &Value, ty: &str) -> bool {
    match ty {
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        other => type_name(v) == other,
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

impl Validator<'_> {
    fn resolve(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        self.root.pointer(pointer)
    }

    fn check(&self, schema: &Value, doc: &Value, at: &str, out: &mut Vec<SchemaViolation>) {
        let Some(s) = schema.as_object() else {
            if schema == &Value::Bool(false) {
                out.push(SchemaViolation {
                    pointer: at.to_string(),
                    problem: "no value is allowed here".into(),
                });
            }
            return;
        };
        if let Some(reference) = s.get("$ref").and_then(Value::as_str) {
            match self.resolve(reference) {
                Some(target) => self.check(target, doc, at, out),
                None => out.push(SchemaViolation {
                    pointer: at.into(),
                    problem: format!("schema reference {reference} does not resolve"),
                }),
            }
            return;
        }
        let mut problems: Vec<String> = Vec::new();
        if let Some(ty) = s.get("type") {
            let types: Vec<&str> = match ty {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !types.iter().any(|t| has_type(doc, t)) {
                let problem = format!(
                    "expected {}, found {} {}",
                    types.join(" or "),
                    type_name(doc),
                    short(doc)
                );
                out.push(SchemaViolation {
                    pointer: at.to_string(),
                    problem,
                });
                return;
            }
        }
        if let Some(c) = s.get("const") {
            if c != doc {
                problems.push(format!("expected {c}, found {}", short(doc)));
            }
        }
        if let Some(Value::Array(options)) = s.get("enum") {
            if !options.contains(doc) {
                let allowed: Vec<String> = options.iter().map(Value::to_string).collect();
                problems.push(format!(
                    "{} is not one of {}",
                    short(doc),
                    allowed.join(", ")
                ));
            }
        }
        if let Value::String(text) = doc {
            if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
                if (text.chars().count() as u64) < min {
                    problems.push(format!(
                        "a string of at least {min} character(s) is required"
                    ));
                }
            }
            if let Some(pattern) = s.get("pattern").and_then(Value::as_str) {
                match regex::Regex::new(pattern) {
                    Ok(re) if !re.is_match(text) => problems.push(format!(
                        "{} does not match the pattern {pattern}",
                        short(doc)
                    )),
                    Ok(_) => {}
                    Err(e) => {
                        problems.push(format!("the schema pattern {pattern} is invalid: {e}"))
                    }
                }
            }
        }
        if let Some(n) = doc.as_f64() {
            if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
                if n < min {
                    problems.push(format!("{} is below the minimum {min}", short(doc)));
                }
            }
            if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
                if n > max {
                    problems.push(format!("{} is above the maximum {max}", short(doc)));
                }
            }
        }
        if let Some(Value::Array(options)) = s.get("oneOf") {
            let matching = options.iter().filter(|o| validate_at(self, o, doc)).count();
            if matching != 1 {
                problems.push(format!(
                    "{} matches {matching} of the {} alternatives (exactly one required)",
                    short(doc),
                    options.len()
                ));
            }
        }
        if let Some(Value::Array(options)) = s.get("anyOf") {
            if !options.iter().any(|o| validate_at(self, o, doc)) {
                problems.push(format!(
                    "{} matches none of the {} alternatives",
                    short(doc),
                    options.len()
                ));
            }
        }
        out.extend(problems.drain(..).map(|problem| SchemaViolation {
            pointer: at.to_string(),
            problem,
        }));
        if let Value::Object(map) = doc {
            if let Some(Value::Array(required)) = s.get("required") {
                for key in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(key) {
                        out.push(SchemaViolation {
                            pointer: at.to_string(),
                            problem: format!("the required field `{key}` is missing"),
                        });
                    }
                }
            }
            let properties = s.get("properties").and_then(Value::as_object);
            for (key, value) in map {
                let child = format!("{at}/{}", escape_pointer(key));
                if let Some(names) = s.get("propertyNames") {
                    let mut sub = Vec::new();
                    self.check(names, &Value::String(key.clone()), &child, &mut sub);
                    out.extend(sub.into_iter().map(|v| SchemaViolation {
                        problem: format!("field name: {}", v.problem),
                        ..v
                    }));
                }
                match properties.and_then(|p| p.get(key)) {
                    Some(sub) => self.check(sub, value, &child, out),
                    None => match s.get("additionalProperties") {
                        Some(Value::Bool(false)) => out.push(SchemaViolation {
                            pointer: child,
                            problem: format!("the field `{key}` is not allowed here"),
                        }),
                        Some(sub @ Value::Object(_)) => self.check(sub, value, &child, out),
                        _ => {}
                    },
                }
            }
        }
        if let (Value::Array(items), Some(item_schema)) = (doc, s.get("items")) {
            for (i, item) in items.iter().enumerate() {
                self.check(item_schema, item, &format!("{at}/{i}"), out);
            }
        }
    }
}

fn validate_at(v: &Validator<'_>, schema: &Value, doc: &Value) -> bool {
    let mut out = Vec::new();
    v.check(schema, doc, "", &mut out);
    out.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{testing::sample, SCHEMA_JSON};
    use serde_json::json;

    fn schema() -> Value {
        serde_json::from_str(SCHEMA_JSON).expect("the report schema is JSON")
    }

    #[test]
    fn the_schema_uses_only_keywords_the_validator_knows() {
        fn walk(v: &Value, in_properties: bool, path: &str) {
            if let Value::Object(map) = v {
                for (k, child) in map {
                    // Under `properties` and `$defs` keys are names, not keywords.
                    if !in_properties {
                        assert!(
                            KNOWN_KEYWORDS.contains(&k.as_str()),
                            "the schema uses `{k}` at {path}, which the validator does not apply"
                        );
                    }
                    let names = !in_properties && (k == "properties" || k == "$defs");
                    walk(child, names, &format!("{path}/{k}"));
                }
            } else if let Value::Array(items) = v {
                for (i, item) in items.iter().enumerate() {
                    walk(item, false, &format!("{path}/{i}"));
                }
            }
        }
        walk(&schema(), false, "");
    }

    #[test]
    fn a_report_matches_its_schema() {
        let doc = sample().to_value();
        assert_eq!(validate(&schema(), &doc), vec![]);
        let mut with_expectation = sample();
        with_expectation.tests[1] = with_expectation.tests[1].clone().expecting_failure("known");
        with_expectation.selection.expectations =
            Some("suites/conformance/expectations/reference.toml".into());
        assert_eq!(validate(&schema(), &with_expectation.to_value()), vec![]);
    }

    #[test]
    fn violations_name_the_place_and_the_problem() {
        let mut doc = sample().to_value();
        doc["tests"][0]["status"] = json!("maybe");
        doc["summary"]["passed"] = json!(-1);
        doc["tests"][1].as_object_mut().unwrap().remove("name");
        doc["extra"] = json!(true);
        doc["coverage"]["lowercase"] = json!([]);
        doc["implementation"]["host"]["sha256"] = json!("zz");
        let found: Vec<String> = validate(&schema(), &doc)
            .iter()
            .map(ToString::to_string)
            .collect();
        let expect = [
            "at /tests/0/status: \"maybe\" is not one of",
            "at /summary/passed: -1 is below the minimum 0",
            "at /tests/1: the required field `name` is missing",
            "at /extra: the field `extra` is not allowed here",
            "at /coverage/lowercase: field name:",
            "at /implementation/host/sha256: \"zz\" matches 0 of the 2 alternatives",
        ];
        for e in expect {
            assert!(
                found.iter().any(|f| f.starts_with(e)),
                "no violation starting with {e:?} in {found:#?}"
            );
        }
        assert_eq!(found.len(), expect.len(), "{found:#?}");
    }

    #[test]
    fn types_and_constants() {
        let s = json!({"type": ["string", "null"]});
        assert!(validate(&s, &json!(null)).is_empty() && validate(&s, &json!("x")).is_empty());
        assert_eq!(
            validate(&s, &json!(1))[0].problem,
            "expected string or null, found integer 1"
        );
        let s = json!({"type": "integer"});
        assert!(validate(&s, &json!(3)).is_empty() && !validate(&s, &json!(3.5)).is_empty());
        let s = json!({"type": "number"});
        assert!(validate(&s, &json!(3)).is_empty() && validate(&s, &json!("3")).len() == 1);
        let s = json!({"const": "v1"});
        assert!(validate(&s, &json!("v1")).is_empty() && validate(&s, &json!("v2")).len() == 1);
        assert_eq!(
            validate(&json!({"$ref": "#/$defs/nope"}), &json!(1))[0].problem,
            "schema reference #/$defs/nope does not resolve"
        );
    }
}
