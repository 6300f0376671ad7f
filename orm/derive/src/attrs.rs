//! Parsing of the `#[model(...)]` and `#[column(...)]` attributes.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Error, Expr, LitBool, LitStr, Path, Result, Token};

/// One attribute setting and the span of its key (where messages about it point).
pub(crate) struct Set<T> {
    /// Span of the key (`name` in `name = "x"`).
    pub span: Span,
    /// The parsed value.
    pub value: T,
}

/// The keys `#[model(...)]` accepts.
pub(crate) const MODEL_KEYS: &[&str] = &["table", "schema", "validate", "crate"];

/// The keys `#[column(...)]` accepts.
pub(crate) const COLUMN_KEYS: &[&str] = &[
    "primary_key",
    "name",
    "sql_type",
    "annotation",
    "default",
    "default_fn",
    "server_default",
    "onupdate",
    "unique",
    "index",
    "foreign_key",
    "autoincrement",
    "version",
    "flatten",
    "skip",
];

/// Everything given in the struct's `#[model(...)]` attributes (several merge).
#[derive(Default)]
pub(crate) struct ModelAttrs {
    /// `table = "name"`.
    pub table: Option<Set<LitStr>>,
    /// `schema = "name"`.
    pub schema: Option<Set<LitStr>>,
    /// `validate = path::to::fn`.
    pub validate: Option<Set<Path>>,
    /// `crate = "path"`: where strata-orm is.
    pub krate: Option<Set<Path>>,
}

impl ModelAttrs {
    /// Parse and merge every `#[model(...)]` among `attrs`.
    pub(crate) fn parse(attrs: &[Attribute]) -> Result<ModelAttrs> {
        let mut out = ModelAttrs::default();
        let mut errors = Errors::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("model")) {
            let r = attr.parse_nested_meta(|meta| out.parse_key(&meta));
            errors.push_result(r);
        }
        errors.finish()?;
        Ok(out)
    }

    fn parse_key(&mut self, meta: &ParseNestedMeta<'_>) -> Result<()> {
        let key = key_of(meta);
        let span = meta.path.span();
        let Some(&key) = MODEL_KEYS.iter().find(|k| **k == key) else {
            return Err(unknown_key(meta, &key, "model", MODEL_KEYS));
        };
        let m = "model";
        match key {
            "table" => set(
                &mut self.table,
                span,
                key,
                m,
                lit_str(meta, key, "table = \"tasks\"")?,
            ),
            "schema" => set(
                &mut self.schema,
                span,
                key,
                m,
                lit_str(meta, key, "schema = \"app\"")?,
            ),
            "validate" => set(&mut self.validate, span, key, m, path_value(meta, key)?),
            "crate" => set(&mut self.krate, span, key, m, path_value(meta, key)?),
            _ => unreachable!("every key of MODEL_KEYS is handled"),
        }
    }
}

/// Everything given in one field's `#[column(...)]` attributes (several merge).
#[derive(Default)]
pub(crate) struct ColumnAttrs {
    /// Every key given, in order, with its span.
    pub keys: Vec<(&'static str, Span)>,
    /// `primary_key`.
    pub primary_key: Option<Set<()>>,
    /// `name = "column"`.
    pub name: Option<Set<LitStr>>,
    /// `sql_type = <expr>`.
    pub sql_type: Option<Set<Expr>>,
    /// `annotation = "key"`.
    pub annotation: Option<Set<LitStr>>,
    /// `default = <expr>`.
    pub default: Option<Set<Expr>>,
    /// `default_fn = path`.
    pub default_fn: Option<Set<Path>>,
    /// `server_default = <expr>`.
    pub server_default: Option<Set<Expr>>,
    /// `onupdate = <expr>`.
    pub onupdate: Option<Set<Expr>>,
    /// `unique`.
    pub unique: Option<Set<()>>,
    /// `index`.
    pub index: Option<Set<()>>,
    /// `foreign_key = "table.column"`.
    pub foreign_key: Option<Set<LitStr>>,
    /// `autoincrement = true|false`.
    pub autoincrement: Option<Set<bool>>,
    /// `version`.
    pub version: Option<Set<()>>,
    /// `flatten`.
    pub flatten: Option<Set<()>>,
    /// `skip`.
    pub skip: Option<Set<()>>,
}

impl ColumnAttrs {
    /// Parse and merge every `#[column(...)]` among `attrs`.
    pub(crate) fn parse(attrs: &[Attribute]) -> Result<ColumnAttrs> {
        let mut out = ColumnAttrs::default();
        let mut errors = Errors::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("column")) {
            let r = attr.parse_nested_meta(|meta| out.parse_key(&meta));
            errors.push_result(r);
        }
        errors.finish()?;
        Ok(out)
    }

    fn parse_key(&mut self, meta: &ParseNestedMeta<'_>) -> Result<()> {
        let key = key_of(meta);
        let span = meta.path.span();
        let Some(&key) = COLUMN_KEYS.iter().find(|k| **k == key) else {
            return Err(unknown_key(meta, &key, "column", COLUMN_KEYS));
        };
        let c = "column";
        match key {
            "primary_key" => set(&mut self.primary_key, span, key, c, flag(meta, key)?),
            "unique" => set(&mut self.unique, span, key, c, flag(meta, key)?),
            "index" => set(&mut self.index, span, key, c, flag(meta, key)?),
            "version" => set(&mut self.version, span, key, c, flag(meta, key)?),
            "flatten" => set(&mut self.flatten, span, key, c, flag(meta, key)?),
            "skip" => set(&mut self.skip, span, key, c, flag(meta, key)?),
            "name" => set(
                &mut self.name,
                span,
                key,
                c,
                lit_str(meta, key, "name = \"column_name\"")?,
            ),
            "annotation" => set(
                &mut self.annotation,
                span,
                key,
                c,
                lit_str(meta, key, "annotation = \"bigint\"")?,
            ),
            "foreign_key" => {
                let lit = lit_str(meta, key, "foreign_key = \"users.id\"")?;
                check_foreign_key(&lit)?;
                set(&mut self.foreign_key, span, key, c, lit)
            }
            "sql_type" => set(&mut self.sql_type, span, key, c, expr_value(meta, key)?),
            "default" => set(&mut self.default, span, key, c, expr_value(meta, key)?),
            "server_default" => set(
                &mut self.server_default,
                span,
                key,
                c,
                expr_value(meta, key)?,
            ),
            "onupdate" => set(&mut self.onupdate, span, key, c, expr_value(meta, key)?),
            "default_fn" => set(&mut self.default_fn, span, key, c, path_value(meta, key)?),
            "autoincrement" => set(
                &mut self.autoincrement,
                span,
                key,
                c,
                bool_value(meta, key)?,
            ),
            _ => unreachable!("every key of COLUMN_KEYS is handled"),
        }?;
        self.keys.push((key, span));
        Ok(())
    }
}

/// Collects several errors so that one expansion reports all of them.
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    /// Add an error.
    pub(crate) fn push(&mut self, e: Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    /// Add the error of `r`, if any, and return its value.
    pub(crate) fn push_result<T>(&mut self, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(e);
                None
            }
        }
    }

    /// `Err` with every error collected, or `Ok`.
    pub(crate) fn finish(self) -> Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn key_of(meta: &ParseNestedMeta<'_>) -> String {
    let p = &meta.path;
    if p.leading_colon.is_none() && p.segments.len() == 1 {
        p.segments[0].ident.to_string()
    } else {
        quote::quote!(#p).to_string().replace(' ', "")
    }
}

fn set<T>(slot: &mut Option<Set<T>>, span: Span, key: &str, attr: &str, value: T) -> Result<()> {
    if slot.is_some() {
        return Err(Error::new(
            span,
            format!("duplicate `{key}` in #[{attr}(...)]: give it once"),
        ));
    }
    *slot = Some(Set { span, value });
    Ok(())
}

fn flag(meta: &ParseNestedMeta<'_>, key: &str) -> Result<()> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!(
            "`{key}` is a flag and takes no value: write #[column({key})]"
        )));
    }
    Ok(())
}

fn value_stream<'a>(
    meta: &'a ParseNestedMeta<'_>,
    key: &str,
    example: &str,
) -> Result<syn::parse::ParseStream<'a>> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!("`{key}` needs a value: write {example}")));
    }
    meta.value()
}

fn lit_str(meta: &ParseNestedMeta<'_>, key: &str, example: &str) -> Result<LitStr> {
    let input = value_stream(meta, key, example)?;
    let expr: Expr = input.parse()?;
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => {
            if s.value().is_empty() {
                Err(Error::new(s.span(), format!("`{key}` must not be empty")))
            } else {
                Ok(s)
            }
        }
        other => Err(Error::new_spanned(
            other,
            format!("`{key}` expects a string literal: {example}"),
        )),
    }
}

fn expr_value(meta: &ParseNestedMeta<'_>, key: &str) -> Result<Expr> {
    value_stream(meta, key, &format!("{key} = <expression>"))?.parse()
}

fn bool_value(meta: &ParseNestedMeta<'_>, key: &str) -> Result<bool> {
    let input = value_stream(meta, key, &format!("{key} = true or {key} = false"))?;
    let expr: Expr = input.parse()?;
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(LitBool { value, .. }),
            ..
        }) => Ok(value),
        other => Err(Error::new_spanned(
            other,
            format!("`{key}` expects `true` or `false`"),
        )),
    }
}

/// A path, written bare (`validate = check_task`) or as a string (`crate = "strata::orm"`).
fn path_value(meta: &ParseNestedMeta<'_>, key: &str) -> Result<Path> {
    let input = value_stream(meta, key, &format!("{key} = path::to::item"))?;
    if input.peek(LitStr) {
        let s: LitStr = input.parse()?;
        return s.parse::<Path>().map_err(|_| {
            Error::new(
                s.span(),
                format!("`{key}` expects a path, e.g. \"my_crate::orm\""),
            )
        });
    }
    let expr: Expr = input.parse()?;
    match expr {
        Expr::Path(p) if p.qself.is_none() => Ok(p.path),
        other => Err(Error::new_spanned(
            other,
            format!("`{key}` expects a path, e.g. {key} = path::to::item"),
        )),
    }
}

fn check_foreign_key(lit: &LitStr) -> Result<()> {
    let v = lit.value();
    let parts: Vec<&str> = v.split('.').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
        return Err(Error::new(
            lit.span(),
            format!(
                "foreign_key must be \"table.column\" (or \"schema.table.column\"), found {v:?}"
            ),
        ));
    }
    Ok(())
}

fn unknown_key(meta: &ParseNestedMeta<'_>, key: &str, attr: &str, known: &[&str]) -> Error {
    let hint = match (attr, key) {
        ("column", "nullable" | "null" | "not_null") => {
            "; nullability comes from the field's type: a column is nullable when the field is an Option<T>".to_string()
        }
        ("column", "type" | "sqltype" | "sql") => "; did you mean `sql_type`?".to_string(),
        ("column", "pk" | "primary") => "; did you mean `primary_key`?".to_string(),
        ("column", "embed" | "embedded" | "mixin") => "; did you mean `flatten`?".to_string(),
        ("column", "ignore" | "transient") => "; did you mean `skip`?".to_string(),
        ("model", "table_name" | "tablename" | "name") => "; did you mean `table`?".to_string(),
        _ => match suggest(key, known) {
            Some(s) => format!("; did you mean `{s}`?"),
            None => String::new(),
        },
    };
    Error::new_spanned(
        &meta.path,
        format!(
            "unknown #[{attr}(...)] key `{key}`{hint} (expected one of: {})",
            known.join(", ")
        ),
    )
}

/// The known key closest to `key`, if it is close enough to be a likely typo.
fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3) || (key.len() >= 3 && k.starts_with(key)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(suggest("primary", COLUMN_KEYS), Some("primary_key"));
        assert_eq!(suggest("primarykey", COLUMN_KEYS), Some("primary_key"));
        assert_eq!(suggest("uniqe", COLUMN_KEYS), Some("unique"));
        assert_eq!(suggest("nullable", COLUMN_KEYS), None);
        assert_eq!(suggest("tabel", MODEL_KEYS), Some("table"));
    }
}
