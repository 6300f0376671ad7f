//! Checking the derive input: a struct with named fields, each a column, an embedded
//! (flattened) group of columns, a relationship (`Many<T>` / `One<T>`), or skipped.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Fields, Ident, Result, Type};

use crate::attrs::{ColumnAttrs, Errors, RelationshipAttrs};

/// What one struct field is.
pub(crate) enum Kind {
    /// A column.
    Column(Box<ColumnAttrs>),
    /// `#[column(flatten)]`: a `ColumnSet` whose columns are inserted here.
    Flatten,
    /// `#[column(skip)]`: not a column; `Default` when read.
    Skip,
    /// A `Many<T>` or `One<T>` field (with or without `#[relationship(...)]`): not a
    /// column; `Default` when read, untouched by updates.
    Relationship(Box<Relationship>),
}

/// A relationship field: its target and settings.
pub(crate) struct Relationship {
    /// The `#[relationship(...)]` settings (none when the attribute is left out).
    pub attrs: RelationshipAttrs,
    /// The target model: `T` of `Many<T>` / `One<T>`.
    pub target: Type,
    /// `Many<T>` (a collection) rather than `One<T>`.
    pub many: bool,
}

/// One struct field and how it maps.
pub(crate) struct FieldSpec {
    /// The field's identifier.
    pub ident: Ident,
    /// The field's name without `r#`.
    pub name: String,
    /// The field's type.
    pub ty: Type,
    /// Column, flatten or skip.
    pub kind: Kind,
    /// The column name (columns only; the field name unless `name = "..."`).
    pub column: String,
}

/// Check the shape of `input` and parse every field's attributes. `derive` names the
/// macro for messages (`Model` or `Embeddable`).
pub(crate) fn analyze(input: &DeriveInput, derive: &str) -> Result<Vec<FieldSpec>> {
    let ident = &input.ident;
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => named,
            Fields::Unnamed(f) => {
                return Err(Error::new(
                    f.span(),
                    format!("#[derive({derive})] needs a struct with named fields (one per column); `{ident}` is a tuple struct"),
                ))
            }
            Fields::Unit => {
                return Err(Error::new(
                    ident.span(),
                    format!("#[derive({derive})] needs a struct with named fields (one per column); `{ident}` is a unit struct"),
                ))
            }
        },
        Data::Enum(e) => {
            return Err(Error::new(
                e.enum_token.span,
                format!("#[derive({derive})] needs a struct with named fields (one per column); `{ident}` is an enum"),
            ))
        }
        Data::Union(u) => {
            return Err(Error::new(
                u.union_token.span,
                format!("#[derive({derive})] needs a struct with named fields (one per column); `{ident}` is a union"),
            ))
        }
    };

    let mut errors = Errors::default();
    if !input.generics.params.is_empty() {
        errors.push(Error::new_spanned(
            &input.generics,
            format!("#[derive({derive})] does not support generic structs: a mapped struct must be a concrete type"),
        ));
    }
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("column")) {
        errors.push(Error::new_spanned(
            attr,
            "#[column(...)] goes on the struct's fields; settings for the whole struct go in #[model(...)]",
        ));
    }
    for attr in input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("relationship"))
    {
        errors.push(Error::new_spanned(
            attr,
            "#[relationship(...)] goes on a field of type Many<T> or One<T>; settings for the whole struct go in #[model(...)]",
        ));
    }

    let mut specs = Vec::new();
    // Column name -> (field name) of the first field mapped to it.
    let mut seen: HashMap<String, String> = HashMap::new();
    for f in &fields.named {
        let ident = f.ident.clone().expect("named fields have identifiers");
        let name = ident.unraw().to_string();
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("model")) {
            errors.push(Error::new_spanned(
                attr,
                "#[model(...)] goes on the struct; a field's settings go in #[column(...)]",
            ));
        }
        let attrs = errors.push_result(ColumnAttrs::parse(&f.attrs));
        let rel = errors.push_result(RelationshipAttrs::parse(&f.attrs));
        let (Some(attrs), Some(rel)) = (attrs, rel) else {
            continue;
        };
        let kind = match errors.push_result(relationship(rel, f, derive)) {
            Some(Some(r)) => Kind::Relationship(Box::new(r)),
            Some(None) => match errors.push_result(classify(attrs, &f.ty)) {
                Some(kind) => kind,
                None => continue,
            },
            None => continue,
        };
        let column = match &kind {
            Kind::Column(a) => a
                .name
                .as_ref()
                .map(|n| n.value.value())
                .unwrap_or_else(|| name.clone()),
            _ => String::new(),
        };
        if let Kind::Column(a) = &kind {
            let span = a
                .name
                .as_ref()
                .map(|n| n.value.span())
                .unwrap_or_else(|| ident.span());
            if let Some(first) = seen.get(&column) {
                errors.push(Error::new(
                    span,
                    format!(
                        "duplicate column name `{column}`: field `{first}` already maps to it; give one of them #[column(name = \"...\")]"
                    ),
                ));
            } else {
                seen.insert(column.clone(), name.clone());
            }
        }
        specs.push(FieldSpec {
            ident,
            name,
            ty: f.ty.clone(),
            kind,
            column,
        });
    }
    errors.finish()?;
    Ok(specs)
}

/// The relationship a field is, if it is one: a field with `#[relationship(...)]`, or
/// one typed `Many<T>` / `One<T>`. Checks the settings against the field's type.
fn relationship(
    attrs: RelationshipAttrs,
    f: &syn::Field,
    derive: &str,
) -> Result<Option<Relationship>> {
    let ty = &f.ty;
    let shape = relation_shape(ty);
    let Some(attr) = attrs.attr.clone() else {
        // No #[relationship]: a Many<T> / One<T> field is a relationship with defaults.
        return match shape {
            Some(Ok((many, target))) => {
                check_relationship_field(f, derive, ty)?;
                Ok(Some(Relationship {
                    attrs,
                    target: target.clone(),
                    many,
                }))
            }
            _ => Ok(None),
        };
    };
    let (many, target) = match shape {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Err(e),
        None => {
            let hint = match container_of(ty) {
                Some(("Vec", inner)) => {
                    format!(" (for a collection write `Many<{}>`)", type_string(inner))
                }
                Some(("Option", inner)) => {
                    format!(" (for a reference write `One<{}>`)", type_string(inner))
                }
                _ => String::new(),
            };
            return Err(Error::new_spanned(
                ty,
                format!(
                    "#[relationship(...)] needs a field of type Many<T> (a collection: one-to-many, many-to-many) or One<T> (one object: many-to-one, one-to-one), where T is the target model; found `{}`{hint}",
                    type_string(ty)
                ),
            ));
        }
    };
    check_relationship_field(f, derive, &attr)?;
    let mut errors = Errors::default();
    if !many {
        let target_s = type_string(target);
        let only_many = |key: &str, why: &str| {
            format!(
                "`{key}` is only allowed on a Many<..> relationship ({why}); this field is a One<{target_s}>"
            )
        };
        if let Some(s) = &attrs.order_by {
            errors.push(Error::new(
                s.span,
                only_many("order_by", "it sorts a collection"),
            ));
        }
        if let Some(s) = &attrs.secondary {
            errors.push(Error::new(
                s.span,
                only_many(
                    "secondary",
                    "an association table links collections on both sides of a many-to-many",
                ),
            ));
        }
    }
    errors.finish()?;
    Ok(Some(Relationship {
        attrs,
        target: target.clone(),
        many,
    }))
}

/// The errors about a relationship field that do not depend on its settings: on an
/// `Embeddable`, or together with `#[column(...)]`.
fn check_relationship_field(f: &syn::Field, derive: &str, at: &dyn quote::ToTokens) -> Result<()> {
    let mut errors = Errors::default();
    if derive != "Model" {
        errors.push(Error::new_spanned(
            at,
            format!(
                "relationships belong on models: #[derive({derive})] cannot have a Many<T> or One<T> field; move `{}` to each model that embeds this struct",
                f.ident.as_ref().map(|i| i.unraw().to_string()).unwrap_or_default()
            ),
        ));
    }
    for attr in f.attrs.iter().filter(|a| a.path().is_ident("column")) {
        errors.push(Error::new_spanned(
            attr,
            "a relationship field (Many<T> or One<T>) is not a column and takes no #[column(...)]: its settings go in #[relationship(...)], and the foreign-key column is a field of its own",
        ));
    }
    errors.finish()
}

/// `Some(Ok((is_many, target)))` for a type written `Many<T>` / `One<T>` (any path
/// ending so), `Some(Err)` for a `Many` / `One` without exactly one type argument,
/// `None` for any other type.
fn relation_shape(ty: &Type) -> Option<Result<(bool, &Type)>> {
    let seg = last_segment(ty)?;
    let many = if seg.ident == "Many" {
        true
    } else if seg.ident == "One" {
        false
    } else {
        return None;
    };
    match &seg.arguments {
        syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => {
            if let syn::GenericArgument::Type(target) = &args.args[0] {
                return Some(Ok((many, target)));
            }
        }
        _ => {}
    }
    Some(Err(Error::new_spanned(
        ty,
        format!(
            "a relationship field needs exactly one type argument, the target model: `{}<Target>`; found `{}`",
            seg.ident,
            type_string(ty)
        ),
    )))
}

/// `Some(("Vec", T))` for `Vec<T>`, `Some(("Option", T))` for `Option<T>`.
fn container_of(ty: &Type) -> Option<(&'static str, &Type)> {
    let seg = last_segment(ty)?;
    let name = ["Vec", "Option"].into_iter().find(|n| seg.ident == n)?;
    match &seg.arguments {
        syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            syn::GenericArgument::Type(inner) => Some((name, inner)),
            _ => None,
        },
        _ => None,
    }
}

/// Decide what a field is from its attributes, rejecting combinations that make no sense.
fn classify(a: ColumnAttrs, ty: &Type) -> Result<Kind> {
    let mut errors = Errors::default();
    if let (Some(f), Some(_)) = (&a.flatten, &a.skip) {
        errors.push(Error::new(
            f.span,
            "a field cannot be both `flatten` and `skip`",
        ));
    }
    for (mode, mode_span, what) in [
        (
            "flatten",
            a.flatten.as_ref().map(|s| s.span),
            "set column settings on the embedded struct's fields instead",
        ),
        (
            "skip",
            a.skip.as_ref().map(|s| s.span),
            "a skipped field is not a column",
        ),
    ] {
        if mode_span.is_none() {
            continue;
        }
        for &(key, span) in &a.keys {
            if key == "flatten" || key == "skip" {
                continue;
            }
            let msg = if key == "primary_key" {
                match mode {
                    "flatten" => "a field cannot be both `primary_key` and `flatten`: mark the primary key field inside the embedded struct".to_string(),
                    _ => "a field cannot be both `primary_key` and `skip`: a primary key must be a column".to_string(),
                }
            } else {
                format!("`{key}` cannot be combined with `{mode}`: {what}")
            };
            errors.push(Error::new(span, msg));
        }
    }
    if a.flatten.is_some() {
        errors.finish()?;
        return Ok(Kind::Flatten);
    }
    if a.skip.is_some() {
        errors.finish()?;
        return Ok(Kind::Skip);
    }
    if a.default.is_some() && a.default_fn.is_some() {
        // Point at whichever of the two came second.
        let span = a
            .keys
            .iter()
            .filter(|(k, _)| *k == "default" || *k == "default_fn")
            .nth(1)
            .map(|(_, s)| *s);
        errors.push(Error::new(
            span.unwrap_or_else(Span::call_site),
            "`default` and `default_fn` cannot both be given: a column has one client-side default",
        ));
    }
    if a.version.is_some() && !is_integer_type(ty) {
        errors.push(Error::new_spanned(
            ty,
            format!(
                "a `version` column counts updates and must be an integer (i16, i32, i64, u32, or an Option of one), found `{}`",
                type_string(ty)
            ),
        ));
    }
    errors.finish()?;
    Ok(Kind::Column(Box::new(a)))
}

/// Whether `ty` is written as one of the integer types a version counter may have.
fn is_integer_type(ty: &Type) -> bool {
    const INTS: &[&str] = &["i16", "i32", "i64", "u32"];
    let Some(seg) = last_segment(ty) else {
        return false;
    };
    if seg.arguments.is_none() {
        return INTS.iter().any(|i| seg.ident == i);
    }
    if seg.ident != "Option" {
        return false;
    }
    match &seg.arguments {
        syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            syn::GenericArgument::Type(inner) => last_segment(inner)
                .is_some_and(|s| s.arguments.is_none() && INTS.iter().any(|i| s.ident == i)),
            _ => false,
        },
        _ => false,
    }
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

/// A type as a readable string: `Option<Vec<u8>>`, `&'static str`.
pub(crate) fn type_string(ty: &Type) -> String {
    let mut out = String::new();
    let mut prev_word = false;
    push_tokens(&mut out, &mut prev_word, quote::quote!(#ty));
    out
}

fn push_tokens(out: &mut String, prev_word: &mut bool, tokens: proc_macro2::TokenStream) {
    use proc_macro2::{Delimiter, TokenTree};
    for t in tokens {
        match t {
            TokenTree::Ident(i) => {
                if *prev_word {
                    out.push(' ');
                }
                out.push_str(&i.to_string());
                *prev_word = true;
            }
            TokenTree::Literal(l) => {
                if *prev_word {
                    out.push(' ');
                }
                out.push_str(&l.to_string());
                *prev_word = true;
            }
            TokenTree::Punct(p) => {
                out.push(p.as_char());
                if p.as_char() == ',' || p.as_char() == ';' {
                    out.push(' ');
                }
                *prev_word = false;
            }
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::None => ("", ""),
                };
                if *prev_word && !open.is_empty() && open != "(" {
                    out.push(' ');
                }
                out.push_str(open);
                *prev_word = false;
                push_tokens(out, prev_word, g.stream());
                out.push_str(close);
                *prev_word = !close.is_empty() || *prev_word;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> Type {
        syn::parse_str(s).unwrap()
    }

    #[test]
    fn type_strings_read_like_source() {
        assert_eq!(type_string(&ty("Option < Vec < u8 > >")), "Option<Vec<u8>>");
        assert_eq!(type_string(&ty("&'static str")), "&'static str");
        assert_eq!(
            type_string(&ty("std::collections::HashMap<String, i64>")),
            "std::collections::HashMap<String, i64>"
        );
        assert_eq!(type_string(&ty("[u8; 4]")), "[u8; 4]");
        assert_eq!(type_string(&ty("(i32, i64)")), "(i32, i64)");
        assert_eq!(type_string(&ty("&mut dyn Fn()")), "&mut dyn Fn()");
    }

    #[test]
    fn relation_shapes() {
        let shape = |s: &str| {
            let t = ty(s);
            relation_shape(&t).map(|r| r.map(|(many, target)| (many, type_string(target))).ok())
        };
        assert_eq!(shape("Many<Task>"), Some(Some((true, "Task".into()))));
        assert_eq!(
            shape("strata::orm::Many<crate::models::Task>"),
            Some(Some((true, "crate::models::Task".into())))
        );
        assert_eq!(shape("One<User>"), Some(Some((false, "User".into()))));
        assert_eq!(shape("One<Self>"), Some(Some((false, "Self".into()))));
        assert_eq!(shape("Many"), Some(None));
        assert_eq!(shape("One<A, B>"), Some(None));
        assert_eq!(shape("Many<'a>"), Some(None));
        for other in [
            "Vec<Task>",
            "Option<User>",
            "String",
            "Manyx<T>",
            "&Many<T>",
        ] {
            assert_eq!(shape(other), None, "{other}");
        }
    }

    #[test]
    fn version_types() {
        for ok in [
            "i64",
            "i32",
            "i16",
            "u32",
            "Option<i64>",
            "std::option::Option<i32>",
            "core::primitive::i64",
        ] {
            assert!(is_integer_type(&ty(ok)), "{ok}");
        }
        for bad in [
            "String",
            "f64",
            "Option<String>",
            "Vec<i64>",
            "u64",
            "Option<Option<i64>>",
        ] {
            assert!(!is_integer_type(&ty(bad)), "{bad}");
        }
    }
}
