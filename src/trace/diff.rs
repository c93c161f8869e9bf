//! Field-by-field differences between two output lines, for the checker's reports.

/// At most this many differences are listed by [`json_diff`].
pub const MAX_DIFFS: usize = 8;

/// Lists where `expected` and `actual` differ, as `path: expected X, actual Y` (at most
/// [`MAX_DIFFS`] entries).
pub fn json_diff(
    path: &str,
    expected: &serde_json::Value,
    actual: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    if out.len() >= MAX_DIFFS || expected == actual {
        return;
    }
    match (expected, actual) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let (x, y) = (
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                );
                let p = format!("{path}.{k}");
                match (a.contains_key(k), b.contains_key(k)) {
                    (true, false) => out.push(format!("{p}: expected {x}, absent")),
                    // A field the expected line does not name is one added to the format after
                    // it was written: it does not count.
                    (false, true) => {}
                    _ => json_diff(&p, x, y, out),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                json_diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ => out.push(format!("{path}: expected {expected}, actual {actual}")),
    }
    out.truncate(MAX_DIFFS);
}
