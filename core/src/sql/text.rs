//! `text()`: literal SQL with named bound parameters.

use std::sync::Arc;

use indexmap::IndexMap;

use crate::{Error, Result, Value};

/// Literal SQL with `:name` parameters, like SQLAlchemy's `text()`.
///
/// `:name` outside quotes and comments is a parameter; `::` (a PostgreSQL cast) and
/// `\:` are not. Quotes are `'...'`, `"..."`, `` `...` ``, PostgreSQL's escape strings
/// (`E'it\'s'`) and its dollar quotes (`$$...$$`, `$tag$...$tag$`).
///
/// ```
/// use strata_core::text;
/// let t = text("SELECT x FROM t WHERE y = :y AND z = 'a:b'").bind("y", 5);
/// assert_eq!(t.param_names(), ["y"]);
/// ```
#[derive(Debug, Clone)]
pub struct Text {
    pub(crate) sql: Arc<str>,
    /// Values by parameter name, in the order they were first bound.
    pub(crate) binds: IndexMap<String, Value>,
}

/// A piece of parsed `text()` SQL.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TextPiece {
    Sql(String),
    Param(String),
}

/// `text(sql)`
pub fn text(sql: &str) -> Text {
    Text {
        sql: Arc::from(sql),
        binds: IndexMap::new(),
    }
}

impl Text {
    /// Bind a value to `:name`.
    pub fn bind(mut self, name: &str, v: impl Into<Value>) -> Self {
        let v = v.into();
        match self.binds.get_mut(name) {
            Some(slot) => *slot = v,
            None => {
                self.binds.insert(name.to_string(), v);
            }
        }
        self
    }

    /// The SQL as written.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The parameter names in order of appearance (repeats included).
    pub fn param_names(&self) -> Vec<String> {
        parse(&self.sql)
            .into_iter()
            .filter_map(|p| match p {
                TextPiece::Param(n) => Some(n),
                TextPiece::Sql(_) => None,
            })
            .collect()
    }

    /// The SQL's pieces with each `:name` as the index of its value among the binds
    /// (in bind order, so a name used twice gives its index twice); an error names a
    /// parameter without a value, or a value bound to a name the SQL does not use.
    pub(crate) fn bound_pieces(&self) -> Result<Vec<BoundPiece>> {
        let mut used = vec![false; self.binds.len()];
        let mut pieces = Vec::new();
        for p in parse(&self.sql) {
            pieces.push(match p {
                TextPiece::Sql(s) => BoundPiece::Sql(s),
                TextPiece::Param(name) => {
                    let slot = self.binds.get_index_of(name.as_str()).ok_or_else(|| {
                        Error::Parameter(format!("text() parameter :{name} has no bound value"))
                    })?;
                    used[slot] = true;
                    BoundPiece::Value(slot)
                }
            });
        }
        if let Some(unused) = used.iter().position(|u| !u) {
            let name = self.binds.get_index(unused).map_or("", |(n, _)| n.as_str());
            return Err(Error::Parameter(format!(
                "value bound to :{name}, which the text() SQL does not use"
            )));
        }
        Ok(pieces)
    }

    /// The bound values in order of appearance; errors for missing and unused ones.
    pub fn values_in_order(&self) -> Result<Vec<Value>> {
        Ok(self
            .bound_pieces()?
            .into_iter()
            .filter_map(|p| match p {
                BoundPiece::Value(i) => Some(self.binds[i].clone()),
                BoundPiece::Sql(_) => None,
            })
            .collect())
    }
}

/// A piece of `text()` SQL with its parameters resolved to bound values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BoundPiece {
    /// SQL as written.
    Sql(String),
    /// A placeholder for the value at this index among the binds.
    Value(usize),
}

/// Whether `c` may continue an identifier (a quote or `$` right after one does not
/// start an escape string or a dollar quote: `name$x$`, `type'...'`).
fn continues_identifier(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
}

/// The length of the dollar-quote delimiter (`$$` or `$tag$`) starting at `chars[i]`,
/// if one starts there (`$1`, a positional parameter, is none).
fn dollar_quote_at(chars: &[char], i: usize) -> Option<usize> {
    if i > 0 && continues_identifier(chars.get(i - 1)) {
        return None;
    }
    let mut end = i + 1;
    if chars.get(end).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    while chars
        .get(end)
        .is_some_and(|c| c.is_alphanumeric() || *c == '_')
    {
        end += 1;
    }
    (chars.get(end) == Some(&'$')).then_some(end + 1 - i)
}

/// Split SQL into literal pieces and `:name` parameters, skipping quoted sections and
/// comments.
pub(crate) fn parse(sql: &str) -> Vec<TextPiece> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' | '`' => {
                // Backslashes escape in PostgreSQL's `E'...'` strings only.
                let escapes = c == '\''
                    && i > 0
                    && matches!(chars[i - 1], 'E' | 'e')
                    && !continues_identifier(i.checked_sub(2).and_then(|p| chars.get(p)));
                cur.push(c);
                i += 1;
                while i < chars.len() {
                    cur.push(chars[i]);
                    if escapes && chars[i] == '\\' {
                        if let Some(&next) = chars.get(i + 1) {
                            cur.push(next);
                        }
                        i += 2;
                        continue;
                    }
                    if chars[i] == c {
                        if i + 1 < chars.len() && chars[i + 1] == c {
                            cur.push(c);
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            '$' if let Some(len) = dollar_quote_at(&chars, i) => {
                // A dollar-quoted string, up to its closing delimiter (or the end).
                let delimiter = &chars[i..i + len];
                cur.extend(delimiter);
                i += len;
                while i < chars.len() && !chars[i..].starts_with(delimiter) {
                    cur.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    cur.extend(delimiter);
                    i += len;
                }
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    cur.push(chars[i]);
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                // A block comment, up to and including its `*/` (or the end).
                cur.push_str("/*");
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    cur.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    cur.push_str("*/");
                    i += 2;
                }
            }
            '\\' if chars.get(i + 1) == Some(&':') => {
                cur.push(':');
                i += 2;
            }
            ':' if chars.get(i + 1) == Some(&':') => {
                cur.push_str("::");
                i += 2;
            }
            ':' if chars
                .get(i + 1)
                .is_some_and(|n| n.is_alphabetic() || *n == '_') =>
            {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                    end += 1;
                }
                if !cur.is_empty() {
                    out.push(TextPiece::Sql(std::mem::take(&mut cur)));
                }
                out.push(TextPiece::Param(chars[start..end].iter().collect()));
                i = end;
            }
            _ => {
                cur.push(c);
                i += 1;
            }
        }
    }
    if !cur.is_empty() {
        out.push(TextPiece::Sql(cur));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_hide_parameters() {
        let t = text("SELECT 1 /* :a */ -- :b\n, :c /* unterminated :d");
        assert_eq!(t.param_names(), ["c"]);
    }

    #[test]
    fn dollar_quotes_and_escape_strings_hide_parameters() {
        let t = text("SELECT $$:a$$, $fn$ :b $$ :c $fn$, :d, $1, x$y$ :e");
        assert_eq!(t.param_names(), ["d", "e"]);
        let t = text("SELECT E'it\\':f', e'\\\\', :g, name'x:y', 'C:\\' || :h");
        assert_eq!(t.param_names(), ["g", "h"]);
        let t = text("SELECT $tag$ unterminated :i");
        assert_eq!(t.param_names(), Vec::<String>::new());
        // The SQL text is kept as written.
        let sql = "SELECT $q$:a$q$ || E'\\':b' || :c";
        let pieces = parse(sql);
        assert_eq!(
            pieces,
            [
                TextPiece::Sql("SELECT $q$:a$q$ || E'\\':b' || ".into()),
                TextPiece::Param("c".into())
            ]
        );
    }
}
