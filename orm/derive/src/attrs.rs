//! Parsing of the `#[model(...)]`, `#[column(...)]` and `#[relationship(...)]` attributes.

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
        parse_all(attrs, "model", false, ModelAttrs::parse_key)
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
        parse_all(attrs, "column", false, ColumnAttrs::parse_key)
    }

    fn parse_key(&mut self, meta: &ParseNestedMeta<'_>) -> Result<()> {
        let key = key_of(meta);
        let span = meta.path.span();
        let Some(&key) = COLUMN_KEYS.iter().find(|k| **k == key) else {
            return Err(unknown_key(meta, &key, "column", COLUMN_KEYS));
        };
        let c = "column";
        match key {
            "primary_key" => set(&mut self.primary_key, span, key, c, flag(meta, key, c)?),
            "unique" => set(&mut self.unique, span, key, c, flag(meta, key, c)?),
            "index" => set(&mut self.index, span, key, c, flag(meta, key, c)?),
            "version" => set(&mut self.version, span, key, c, flag(meta, key, c)?),
            "flatten" => set(&mut self.flatten, span, key, c, flag(meta, key, c)?),
            "skip" => set(&mut self.skip, span, key, c, flag(meta, key, c)?),
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

/// The keys `#[relationship(...)]` accepts.
pub(crate) const RELATIONSHIP_KEYS: &[&str] = &[
    "back_populates",
    "secondary",
    "foreign_key",
    "order_by",
    "lazy",
    "cascade",
    "passive_deletes",
];

/// The values `lazy = "..."` accepts and the `Strategy` variant each stands for.
pub(crate) const LAZY_VALUES: &[(&str, &str)] = &[
    ("select", "Lazy"),
    ("selectin", "SelectIn"),
    ("joined", "Joined"),
    ("raise", "Raise"),
    ("noload", "NoLoad"),
];

/// The parts of a `cascade = "..."` string (the rules of strata-orm's `Cascade::parse`).
pub(crate) const CASCADE_PARTS: &[&str] = &[
    "all",
    "save-update",
    "delete",
    "delete-orphan",
    "merge",
    "refresh-expire",
    "expunge",
    "none",
];

/// A checked `cascade = "..."`: the flags of strata-orm's `Cascade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CascadeFlags {
    /// `save-update` (or `all`).
    pub save_update: bool,
    /// `merge` (or `all`).
    pub merge: bool,
    /// `refresh-expire` (or `all`).
    pub refresh_expire: bool,
    /// `expunge` (or `all`).
    pub expunge: bool,
    /// `delete` (or `all`).
    pub delete: bool,
    /// `delete-orphan`.
    pub delete_orphan: bool,
}

/// Everything given in one field's `#[relationship(...)]` attributes (several merge).
#[derive(Default)]
pub(crate) struct RelationshipAttrs {
    /// The first `#[relationship]` attribute, when one is written (messages about the
    /// attribute as a whole point at it).
    pub attr: Option<Attribute>,
    /// `back_populates = "field"`.
    pub back_populates: Option<Set<LitStr>>,
    /// `secondary = path::to::fn`.
    pub secondary: Option<Set<Path>>,
    /// `foreign_key = "column"`.
    pub foreign_key: Option<Set<LitStr>>,
    /// `order_by = "col, -col"`.
    pub order_by: Option<Set<LitStr>>,
    /// `lazy = "..."`, as the name of the `Strategy` variant.
    pub lazy: Option<Set<&'static str>>,
    /// `cascade = "..."`: the string as written and its flags.
    pub cascade: Option<Set<(LitStr, CascadeFlags)>>,
    /// `passive_deletes`.
    pub passive_deletes: Option<Set<()>>,
}

impl RelationshipAttrs {
    /// Parse and merge every `#[relationship(...)]` among `attrs` (a bare
    /// `#[relationship]` has no keys).
    pub(crate) fn parse(attrs: &[Attribute]) -> Result<RelationshipAttrs> {
        let mut out = parse_all(attrs, "relationship", true, RelationshipAttrs::parse_key)?;
        out.attr = attrs
            .iter()
            .find(|a| a.path().is_ident("relationship"))
            .cloned();
        Ok(out)
    }

    fn parse_key(&mut self, meta: &ParseNestedMeta<'_>) -> Result<()> {
        let key = key_of(meta);
        let span = meta.path.span();
        let Some(&key) = RELATIONSHIP_KEYS.iter().find(|k| **k == key) else {
            return Err(unknown_key(meta, &key, "relationship", RELATIONSHIP_KEYS));
        };
        let r = "relationship";
        match key {
            "back_populates" => {
                let lit = lit_str(meta, key, "back_populates = \"user\"")?;
                check_back_populates(&lit)?;
                set(&mut self.back_populates, span, key, r, lit)
            }
            "secondary" => set(&mut self.secondary, span, key, r, path_value(meta, key)?),
            "foreign_key" => {
                let lit = lit_str(meta, key, "foreign_key = \"author_id\"")?;
                check_relationship_foreign_key(&lit)?;
                set(&mut self.foreign_key, span, key, r, lit)
            }
            "order_by" => {
                let lit = lit_str(meta, key, "order_by = \"priority, -created_at\"")?;
                check_order_by(&lit)?;
                set(&mut self.order_by, span, key, r, lit)
            }
            "lazy" => {
                let lit = lit_str(meta, key, "lazy = \"selectin\"")?;
                let variant = lazy_variant(&lit)?;
                set(&mut self.lazy, span, key, r, variant)
            }
            "cascade" => {
                let lit = lit_str(meta, key, "cascade = \"all, delete-orphan\"")?;
                let flags = parse_cascade(&lit)?;
                set(&mut self.cascade, span, key, r, (lit, flags))
            }
            "passive_deletes" => set(&mut self.passive_deletes, span, key, r, flag(meta, key, r)?),
            _ => unreachable!("every key of RELATIONSHIP_KEYS is handled"),
        }
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

/// Parse and merge every `#[name(...)]` among `attrs` into one `T`, each key through
/// `key`; all errors are reported together. With `allow_bare`, a bare `#[name]` is
/// an attribute without keys (otherwise syn reports the missing parentheses).
fn parse_all<T: Default>(
    attrs: &[Attribute],
    name: &str,
    allow_bare: bool,
    key: fn(&mut T, &ParseNestedMeta<'_>) -> Result<()>,
) -> Result<T> {
    let mut out = T::default();
    let mut errors = Errors::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident(name)) {
        if allow_bare && matches!(attr.meta, syn::Meta::Path(_)) {
            continue;
        }
        errors.push_result(attr.parse_nested_meta(|meta| key(&mut out, &meta)));
    }
    errors.finish()?;
    Ok(out)
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

fn flag(meta: &ParseNestedMeta<'_>, key: &str, attr: &str) -> Result<()> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!(
            "`{key}` is a flag and takes no value: write #[{attr}({key})]"
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
                match key {
                    "crate" => format!("`{key}` expects a path, e.g. \"my_crate::orm\""),
                    _ => format!("`{key}` expects a path, e.g. {key} = path::to::item"),
                },
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

fn check_back_populates(lit: &LitStr) -> Result<()> {
    let v = lit.value();
    let mut chars = v.chars();
    let ident_like = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_');
    if !ident_like {
        return Err(Error::new(
            lit.span(),
            format!(
                "`back_populates` names the relationship field on the target model that mirrors this one, e.g. back_populates = \"user\"; found {v:?}"
            ),
        ));
    }
    Ok(())
}

fn check_relationship_foreign_key(lit: &LitStr) -> Result<()> {
    let v = lit.value();
    if v.contains('.') || v.chars().any(char::is_whitespace) {
        return Err(Error::new(
            lit.span(),
            format!(
                "`foreign_key` names the one foreign-key column to join on (of whichever table holds it), e.g. foreign_key = \"author_id\"; found {v:?}"
            ),
        ));
    }
    Ok(())
}

fn check_order_by(lit: &LitStr) -> Result<()> {
    let v = lit.value();
    for part in v.split(',').map(str::trim) {
        let name = part.strip_prefix('-').unwrap_or(part);
        let problem = if part.is_empty() {
            "has an empty item".to_string()
        } else if name.is_empty() {
            "has a `-` without a column name".to_string()
        } else if let Some((col, dir)) = name
            .rsplit_once(char::is_whitespace)
            .filter(|(_, d)| d.eq_ignore_ascii_case("asc") || d.eq_ignore_ascii_case("desc"))
        {
            let col = col.trim();
            let sign = if dir.eq_ignore_ascii_case("desc") {
                "-"
            } else {
                ""
            };
            format!(
                "has {part:?}: write {:?} (a leading `-` sorts descending)",
                format!("{sign}{col}")
            )
        } else if name.chars().any(char::is_whitespace) {
            format!("has {part:?}, which is not a column name")
        } else {
            continue;
        };
        return Err(Error::new(
            lit.span(),
            format!(
                "order_by = {v:?} {problem}; order_by lists target columns separated by commas, each with a leading `-` for descending order, e.g. \"priority, -created_at\""
            ),
        ));
    }
    Ok(())
}

fn lazy_variant(lit: &LitStr) -> Result<&'static str> {
    let v = lit.value();
    if let Some((_, variant)) = LAZY_VALUES.iter().find(|(name, _)| *name == v) {
        return Ok(variant);
    }
    let names: Vec<&str> = LAZY_VALUES.iter().map(|(n, _)| *n).collect();
    let hint = match v.as_str() {
        "lazy" | "true" | "True" => "; lazy loading is \"select\"".to_string(),
        "subquery" | "immediate" => "; use \"selectin\" (one IN query per level)".to_string(),
        "raise_on_sql" => "; use \"raise\"".to_string(),
        "dynamic" | "write_only" => {
            "; strata has no dynamic relationships: select the target with a filter instead"
                .to_string()
        }
        _ => match suggest(&v, &names) {
            Some(s) => format!("; did you mean \"{s}\"?"),
            None => String::new(),
        },
    };
    Err(Error::new(
        lit.span(),
        format!(
            "unknown loading strategy lazy = {v:?}{hint} (expected one of: {})",
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

/// Check a cascade string with the rules of `Cascade::parse` and compute its flags.
fn parse_cascade(lit: &LitStr) -> Result<CascadeFlags> {
    let v = lit.value();
    let mut c = CascadeFlags::default();
    let mut any = false;
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        any = true;
        match part {
            "all" => {
                c.save_update = true;
                c.merge = true;
                c.refresh_expire = true;
                c.expunge = true;
                c.delete = true;
            }
            "save-update" => c.save_update = true,
            "merge" => c.merge = true,
            "refresh-expire" => c.refresh_expire = true,
            "expunge" => c.expunge = true,
            "delete" => c.delete = true,
            "delete-orphan" => c.delete_orphan = true,
            "none" => {}
            other => {
                let hint = if other.contains(char::is_whitespace) {
                    "; separate cascades with commas, e.g. \"all, delete-orphan\"".to_string()
                } else {
                    match suggest(other, CASCADE_PARTS) {
                        Some(s) => format!("; did you mean `{s}`?"),
                        None => String::new(),
                    }
                };
                return Err(Error::new(
                    lit.span(),
                    format!(
                        "unknown cascade `{other}` in cascade = {v:?}{hint} (expected a comma-separated list of: {})",
                        CASCADE_PARTS.join(", ")
                    ),
                ));
            }
        }
    }
    if !any {
        return Err(Error::new(
            lit.span(),
            "cascade = \"...\" lists no cascade: write cascade = \"none\" for none",
        ));
    }
    Ok(c)
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
        ("relationship", "backref") => {
            "; strata has no `backref`: declare the relationship field on both models and link them with `back_populates`".to_string()
        }
        ("relationship", "loading" | "strategy" | "load" | "lazy_load") => {
            "; did you mean `lazy`?".to_string()
        }
        ("relationship", "order" | "sort" | "sort_by" | "ordering") => {
            "; did you mean `order_by`?".to_string()
        }
        ("relationship", "association" | "through" | "join_table" | "assoc") => {
            "; did you mean `secondary` (the association table)?".to_string()
        }
        ("relationship", "fk") => "; did you mean `foreign_key`?".to_string(),
        ("relationship", "uselist" | "collection" | "many") => {
            "; the field's type decides: Many<T> holds a collection, One<T> one object".to_string()
        }
        ("relationship", "target" | "model" | "argument") => {
            "; the target model is the type argument of the field's Many<T> or One<T>".to_string()
        }
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
        assert_eq!(
            suggest("back_populate", RELATIONSHIP_KEYS),
            Some("back_populates")
        );
        assert_eq!(suggest("cascades", RELATIONSHIP_KEYS), Some("cascade"));
        assert_eq!(suggest("backref", RELATIONSHIP_KEYS), None);
    }

    fn lit(s: &str) -> LitStr {
        LitStr::new(s, Span::call_site())
    }

    #[test]
    fn cascade_follows_the_runtime_rules() {
        for s in [
            "all",
            "all, delete-orphan",
            "save-update",
            "save-update, merge",
            "delete",
            "delete, delete-orphan",
            "none",
            "none, delete",
            "merge, refresh-expire, expunge",
            " all ,delete-orphan, ",
            "delete-orphan",
        ] {
            let runtime = strata_orm::Cascade::parse(s).expect(s);
            let ours = parse_cascade(&lit(s)).expect(s);
            assert_eq!(
                (
                    ours.save_update,
                    ours.merge,
                    ours.refresh_expire,
                    ours.expunge,
                    ours.delete,
                    ours.delete_orphan
                ),
                (
                    runtime.save_update,
                    runtime.merge,
                    runtime.refresh_expire,
                    runtime.expunge,
                    runtime.delete,
                    runtime.delete_orphan
                ),
                "{s}"
            );
        }
        for bad in [
            "al",
            "all delete-orphan",
            "save_update",
            "all, orphan",
            "delete-orphans",
        ] {
            assert!(strata_orm::Cascade::parse(bad).is_err(), "{bad}");
            assert!(parse_cascade(&lit(bad)).is_err(), "{bad}");
        }
        // The runtime reads "," as no cascade; the derive asks for "none".
        assert!(parse_cascade(&lit(" , ")).is_err());
    }

    #[test]
    fn lazy_values() {
        assert_eq!(lazy_variant(&lit("select")).unwrap(), "Lazy");
        assert_eq!(lazy_variant(&lit("selectin")).unwrap(), "SelectIn");
        assert_eq!(lazy_variant(&lit("joined")).unwrap(), "Joined");
        assert_eq!(lazy_variant(&lit("raise")).unwrap(), "Raise");
        assert_eq!(lazy_variant(&lit("noload")).unwrap(), "NoLoad");
        for bad in ["Select", "subquery", "dynamic", "lazy", ""] {
            assert!(lazy_variant(&lit(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn order_by_strings() {
        for ok in ["title", "-created_at", "priority, -created_at", " a ,b"] {
            assert!(check_order_by(&lit(ok)).is_ok(), "{ok}");
        }
        for bad in ["title desc", "a,,b", "a,", "-", "- a", "first name"] {
            assert!(check_order_by(&lit(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn relationship_names() {
        assert!(check_back_populates(&lit("tasks")).is_ok());
        assert!(check_back_populates(&lit("_parent2")).is_ok());
        for bad in ["Task.user", "2x", "a b", "user-tasks"] {
            assert!(check_back_populates(&lit(bad)).is_err(), "{bad}");
        }
        assert!(check_relationship_foreign_key(&lit("sender_id")).is_ok());
        for bad in ["messages.sender_id", "sender id"] {
            assert!(check_relationship_foreign_key(&lit(bad)).is_err(), "{bad}");
        }
    }
}
