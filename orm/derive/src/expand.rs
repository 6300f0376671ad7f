//! Code generation for `#[derive(Model)]` and `#[derive(Embeddable)]`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Error, Result};

use crate::attrs::{ColumnAttrs, Errors, ModelAttrs};
use crate::fields::{analyze, type_string, FieldSpec, Kind, Relationship};
use crate::krate::orm_path;

/// `#[derive(Model)]`: `ColumnSet`, `Model` and the typed column constants.
pub(crate) fn model(input: DeriveInput) -> Result<TokenStream> {
    let mut errors = Errors::default();
    let attrs = errors.push_result(ModelAttrs::parse(&input.attrs));
    let fields = errors.push_result(analyze(&input, "Model"));
    if let Some(a) = &attrs {
        if a.table.is_none() {
            let msg = format!(
                "#[derive(Model)] needs the table name: add #[model(table = \"...\")] to `{}`",
                input.ident
            );
            errors.push(
                match input.attrs.iter().find(|at| at.path().is_ident("model")) {
                    Some(at) => Error::new_spanned(at, msg),
                    None => Error::new(input.ident.span(), msg),
                },
            );
        }
    }
    errors.finish()?;
    let (attrs, fields) = (attrs.expect("no errors"), fields.expect("no errors"));

    let krate = orm_path(attrs.krate.as_ref().map(|k| &k.value));
    let ident = &input.ident;
    let column_set = column_set(&krate, &input, &fields);

    let table = &attrs.table.as_ref().expect("checked above").value;
    let schema = match &attrs.schema {
        Some(s) => {
            let s = &s.value;
            quote!(::core::option::Option::Some(#s))
        }
        None => quote!(::core::option::Option::None),
    };
    let validate = attrs.validate.as_ref().map(|v| {
        let path = &v.value;
        let call = quote_spanned!(path.span()=> #path(self));
        quote! {
            fn validate(&self) -> ::core::result::Result<(), ::std::string::String> {
                #call
            }
        }
    });

    let consts = fields.iter().filter_map(|f| match &f.kind {
        Kind::Column(_) => {
            let (fi, ty, col) = (&f.ident, &f.ty, &f.column);
            let doc = format!(
                "The `{col}` column (field `{}`), for typed expressions.",
                f.name
            );
            // Spanned at the field's type: a type that is no SqlField is reported there.
            let value = respan(quote!(#krate::Col::new(#col)), ty.span());
            Some(quote! {
                #[doc = #doc]
                pub const #fi: #krate::Col<#ident, #ty> = #value;
            })
        }
        _ => None,
    });

    let rels: Vec<(&FieldSpec, &Relationship)> = fields
        .iter()
        .filter_map(|f| match &f.kind {
            Kind::Relationship(r) => Some((f, &**r)),
            _ => None,
        })
        .collect();
    let rel_consts = rels.iter().enumerate().map(|(i, (f, r))| {
        let (fi, ty) = (&f.ident, &f.ty);
        let index = proc_macro2::Literal::usize_unsuffixed(i);
        let doc = format!(
            "The `{}` relationship ({} `{}`), for `session.load(&obj, {ident}::{fi})` and loader options.",
            f.name,
            if r.many { "a collection of" } else { "a reference to" },
            type_string(&r.target),
        );
        let value = respan(quote!(#krate::Rel::new(#index)), ty.span());
        quote! {
            #[doc = #doc]
            pub const #fi: #krate::Rel<#ident, #ty> = #value;
        }
    });
    let rel_methods = (!rels.is_empty()).then(|| relationship_methods(&krate, &rels));

    Ok(quote! {
        #column_set

        #[automatically_derived]
        impl #krate::Model for #ident {
            const TABLE: &'static str = #table;
            const SCHEMA: ::core::option::Option<&'static str> = #schema;

            fn table() -> ::core::result::Result<&'static #krate::__private::Table, #krate::__private::CoreError> {
                static CELL: #krate::__private::OnceLock<
                    ::core::result::Result<#krate::__private::Table, #krate::__private::CoreError>,
                > = #krate::__private::OnceLock::new();
                CELL.get_or_init(#krate::build_table::<Self>)
                    .as_ref()
                    .map_err(::core::clone::Clone::clone)
            }

            fn __info_slot() -> &'static #krate::__private::InfoSlot {
                static SLOT: #krate::__private::InfoSlot = #krate::__private::InfoSlot::new();
                &SLOT
            }

            #validate

            #rel_methods
        }

        #[allow(non_upper_case_globals, dead_code, private_interfaces)]
        impl #ident {
            #(#consts)*
            #(#rel_consts)*
        }
    })
}

/// `Model::relationships`, `relation` and `relation_mut` for the relationship fields
/// `rels` (in field order; a field's position is its index).
fn relationship_methods(krate: &TokenStream, rels: &[(&FieldSpec, &Relationship)]) -> TokenStream {
    let p = quote!(#krate::__private);
    let some = quote!(::core::option::Option::Some);
    let defs = rels.iter().map(|(f, r)| {
        let a = &r.attrs;
        let name = &f.name;
        let many = r.many;
        let target = &r.target;
        let mut sets = Vec::new();
        if let Some(s) = &a.back_populates {
            let v = &s.value;
            sets.push(quote!(back_populates: #some(#v),));
        }
        if let Some(s) = &a.secondary {
            let path = &s.value;
            // A typed binding, so that a function of the wrong signature is reported at
            // the path.
            let bind =
                quote_spanned!(path.span()=> let __strata_secondary: fn() -> #p::Table = #path;);
            sets.push(quote!(secondary: #some({ #bind __strata_secondary }),));
        }
        if let Some(s) = &a.foreign_key {
            let v = &s.value;
            sets.push(quote!(foreign_key: #some(#v),));
        }
        if let Some(s) = &a.order_by {
            let v = &s.value;
            sets.push(quote!(order_by: #some(#v),));
        }
        if let Some(s) = &a.lazy {
            let variant = format_ident!("{}", s.value);
            sets.push(quote!(lazy: #krate::Strategy::#variant,));
        }
        if let Some(s) = &a.cascade {
            let c = s.value.1;
            let (save_update, merge, refresh_expire, expunge) =
                (c.save_update, c.merge, c.refresh_expire, c.expunge);
            let (delete, delete_orphan) = (c.delete, c.delete_orphan);
            sets.push(quote! {
                cascade: #krate::Cascade {
                    save_update: #save_update,
                    merge: #merge,
                    refresh_expire: #refresh_expire,
                    expunge: #expunge,
                    delete: #delete,
                    delete_orphan: #delete_orphan,
                },
            });
        }
        if a.passive_deletes.is_some() {
            sets.push(quote!(passive_deletes: true,));
        }
        let new = quote_spanned!(target.span()=> #krate::RelationshipDef::new::<#target>);
        quote! {
            #krate::RelationshipDef {
                #(#sets)*
                ..#new(#name, #many)
            }
        }
    });
    let arms = |mutable: bool| -> Vec<TokenStream> {
        rels.iter()
            .enumerate()
            .map(|(i, (f, _))| {
                let (fi, ty) = (&f.ident, &f.ty);
                let index = proc_macro2::Literal::usize_unsuffixed(i);
                let field = if mutable {
                    quote_spanned!(ty.span()=> &mut self.#fi as &mut dyn #krate::RelationField)
                } else {
                    quote_spanned!(ty.span()=> &self.#fi as &dyn #krate::RelationField)
                };
                quote!(#index => #some(#field),)
            })
            .collect()
    };
    let (shared, exclusive) = (arms(false), arms(true));
    quote! {
        fn relationships() -> ::std::vec::Vec<#krate::RelationshipDef> {
            ::std::vec![#(#defs),*]
        }

        fn relation(
            &self,
            __strata_index: usize,
        ) -> ::core::option::Option<&dyn #krate::RelationField> {
            match __strata_index {
                #(#shared)*
                _ => ::core::option::Option::None,
            }
        }

        fn relation_mut(
            &mut self,
            __strata_index: usize,
        ) -> ::core::option::Option<&mut dyn #krate::RelationField> {
            match __strata_index {
                #(#exclusive)*
                _ => ::core::option::Option::None,
            }
        }
    }
}

/// `#[derive(Embeddable)]`: `ColumnSet` and the `EmbeddedCol` constants.
pub(crate) fn embeddable(input: DeriveInput) -> Result<TokenStream> {
    let mut errors = Errors::default();
    let attrs = errors.push_result(ModelAttrs::parse(&input.attrs));
    let fields = errors.push_result(analyze(&input, "Embeddable"));
    if let Some(a) = &attrs {
        let no_table =
            "an embeddable struct has no table; it adds its columns to each model that embeds it \
                        with #[column(flatten)] (only #[model(crate = \"...\")] is accepted here)";
        for (key, span) in [
            ("table", a.table.as_ref().map(|s| s.span)),
            ("schema", a.schema.as_ref().map(|s| s.span)),
            ("validate", a.validate.as_ref().map(|s| s.span)),
        ] {
            if let Some(span) = span {
                errors.push(Error::new(
                    span,
                    format!(
                        "#[model({key} = ...)] is not allowed on #[derive(Embeddable)]: {no_table}"
                    ),
                ));
            }
        }
    }
    errors.finish()?;
    let (attrs, fields) = (attrs.expect("no errors"), fields.expect("no errors"));

    let krate = orm_path(attrs.krate.as_ref().map(|k| &k.value));
    let ident = &input.ident;
    let column_set = column_set(&krate, &input, &fields);
    let consts = fields.iter().filter_map(|f| match &f.kind {
        Kind::Column(_) => {
            let (fi, ty, col) = (&f.ident, &f.ty, &f.column);
            let doc = format!(
                "The embedded `{col}` column (field `{}`); `{ident}::{}.of::<Model>()` gives the typed column of a model.",
                f.name, f.ident
            );
            let value = respan(quote!(#krate::EmbeddedCol::new(#col)), ty.span());
            Some(quote! {
                #[doc = #doc]
                pub const #fi: #krate::EmbeddedCol<#ty> = #value;
            })
        }
        _ => None,
    });

    Ok(quote! {
        #column_set

        #[allow(non_upper_case_globals, dead_code, private_interfaces)]
        impl #ident {
            #(#consts)*
        }
    })
}

/// The `ColumnSet` impl shared by both derives.
fn column_set(krate: &TokenStream, input: &DeriveInput, fields: &[FieldSpec]) -> TokenStream {
    let ident = &input.ident;
    let p = quote!(#krate::__private);
    let value = quote!(#p::Value);
    let label = |f: &FieldSpec| format!("{ident}.{}", f.name);

    let defs = fields.iter().map(|f| {
        let ty = &f.ty;
        match &f.kind {
            Kind::Column(a) => column_def(krate, f, a),
            Kind::Flatten => {
                let prefix = format!("{}.", f.name);
                let call = quote_spanned!(ty.span()=> <#ty as #krate::ColumnSet>::column_defs(__strata_out));
                quote! {
                    {
                        let __strata_start = __strata_out.len();
                        #call;
                        // Embedded fields are named `outer.inner`; the names are built once.
                        static FIELDS: #p::OnceLock<::std::vec::Vec<&'static str>> = #p::OnceLock::new();
                        let __strata_fields = FIELDS.get_or_init(|| {
                            __strata_out[__strata_start..]
                                .iter()
                                .map(|__strata_d| -> &'static str {
                                    let __strata_name = ::std::format!("{}{}", #prefix, __strata_d.field);
                                    ::std::boxed::Box::leak(__strata_name.into_boxed_str())
                                })
                                .collect()
                        });
                        for (__strata_d, __strata_f) in
                            __strata_out[__strata_start..].iter_mut().zip(__strata_fields.iter())
                        {
                            __strata_d.field = __strata_f;
                        }
                    }
                }
            }
            Kind::Skip | Kind::Relationship(_) => quote!(),
        }
    });

    let writes = fields.iter().map(|f| {
        let (fi, ty) = (&f.ident, &f.ty);
        match &f.kind {
            Kind::Column(_) => quote_spanned! {ty.span()=>
                __strata_out.push(<#ty as #krate::SqlField>::to_value(&self.#fi));
            },
            Kind::Flatten => quote_spanned! {ty.span()=>
                <#ty as #krate::ColumnSet>::write_values(&self.#fi, __strata_out);
            },
            Kind::Skip | Kind::Relationship(_) => quote!(),
        }
    });

    // Reading one field's value(s) from `__strata_values`.
    let read = |f: &FieldSpec| -> TokenStream {
        let ty = &f.ty;
        let label = label(f);
        match &f.kind {
            Kind::Column(_) => {
                let from = quote_spanned!(ty.span()=> <#ty as #krate::SqlField>::from_value);
                quote! {
                    #from(__strata_next(__strata_values, #label)?).map_err(|__strata_e| __strata_err(#label, __strata_e))?
                }
            }
            Kind::Flatten => {
                let from = quote_spanned!(ty.span()=> <#ty as #krate::ColumnSet>::read_values);
                quote!(#from(__strata_values).map_err(|__strata_e| __strata_err(#label, __strata_e))?)
            }
            Kind::Skip | Kind::Relationship(_) => {
                quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default())
            }
        }
    };

    let helpers = quote! {
        #[allow(dead_code)]
        fn __strata_next(
            __strata_values: &mut ::std::slice::IterMut<'_, #value>,
            __strata_field: &str,
        ) -> #krate::Result<#value> {
            __strata_values.next().map(::std::mem::take).ok_or_else(|| {
                #krate::Error::InvalidRequest(::std::format!(
                    "{}: no value left for this column (too few values)",
                    __strata_field,
                ))
            })
        }
        #[allow(dead_code)]
        fn __strata_err(__strata_field: &str, __strata_e: #krate::Error) -> #krate::Error {
            let __strata_message = match __strata_e {
                #krate::Error::InvalidRequest(__strata_m) => __strata_m,
                __strata_other => ::std::string::ToString::to_string(&__strata_other),
            };
            #krate::Error::InvalidRequest(::std::format!("{}: {}", __strata_field, __strata_message))
        }
    };

    let reads = fields.iter().map(|f| {
        let fi = &f.ident;
        let r = read(f);
        quote!(#fi: #r)
    });

    // update_values: columns are decoded first and assigned only when all succeeded;
    // embedded structs update themselves in place, in order.
    let mut update_steps = Vec::new();
    let mut assigns = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let (fi, ty) = (&f.ident, &f.ty);
        match &f.kind {
            Kind::Column(_) => {
                let local = format_ident!("__strata_v{}", i);
                let r = read(f);
                update_steps.push(quote!(let #local = #r;));
                assigns.push(quote!(self.#fi = #local;));
            }
            Kind::Flatten => {
                let label = label(f);
                let call = quote_spanned!(ty.span()=> <#ty as #krate::ColumnSet>::update_values);
                update_steps.push(quote! {
                    #call(&mut self.#fi, __strata_values).map_err(|__strata_e| __strata_err(#label, __strata_e))?;
                });
            }
            Kind::Skip | Kind::Relationship(_) => {}
        }
    }

    // column_count, diff_values and column_value walk the columns in the same order.
    let counts = fields.iter().map(|f| {
        let ty = &f.ty;
        match &f.kind {
            Kind::Column(_) => quote!(+ 1),
            Kind::Flatten => {
                quote_spanned!(ty.span()=> + <#ty as #krate::ColumnSet>::column_count())
            }
            Kind::Skip | Kind::Relationship(_) => quote!(),
        }
    });
    let diffs = fields.iter().map(|f| {
        let (fi, ty) = (&f.ident, &f.ty);
        match &f.kind {
            Kind::Column(_) => {
                let same = quote_spanned!(ty.span()=> <#ty as #krate::SqlField>::same_as_value);
                quote! {
                    if !__strata_values.get(__strata_at).is_some_and(|__strata_v| #same(&self.#fi, __strata_v)) {
                        __strata_changed(__strata_at);
                    }
                    __strata_at += 1;
                }
            }
            Kind::Flatten => {
                let inner = quote_spanned!(ty.span()=> <#ty as #krate::ColumnSet>);
                quote! {
                    #inner::diff_values(
                        &self.#fi,
                        __strata_values.get(__strata_at..).unwrap_or(&[]),
                        &mut |__strata_i| __strata_changed(__strata_at + __strata_i),
                    );
                    __strata_at += #inner::column_count();
                }
            }
            Kind::Skip | Kind::Relationship(_) => quote!(),
        }
    });
    let gets = fields.iter().map(|f| {
        let (fi, ty) = (&f.ident, &f.ty);
        match &f.kind {
            Kind::Column(_) => {
                let to = quote_spanned!(ty.span()=> <#ty as #krate::SqlField>::to_value);
                quote! {
                    if __strata_at == 0 {
                        return ::core::option::Option::Some(#to(&self.#fi));
                    }
                    __strata_at -= 1;
                }
            }
            Kind::Flatten => {
                let inner = quote_spanned!(ty.span()=> <#ty as #krate::ColumnSet>);
                quote! {
                    let __strata_n = #inner::column_count();
                    if __strata_at < __strata_n {
                        return #inner::column_value(&self.#fi, __strata_at);
                    }
                    __strata_at -= __strata_n;
                }
            }
            Kind::Skip | Kind::Relationship(_) => quote!(),
        }
    });

    quote! {
        #[automatically_derived]
        impl #krate::ColumnSet for #ident {
            fn column_count() -> usize {
                0 #(#counts)*
            }

            #[allow(unused_variables, unused_mut, unused_assignments)]
            fn diff_values(&self, __strata_values: &[#value], __strata_changed: &mut dyn FnMut(usize)) {
                let mut __strata_at = 0usize;
                #(#diffs)*
            }

            #[allow(unused_variables, unused_mut, unused_assignments)]
            fn column_value(&self, __strata_index: usize) -> ::core::option::Option<#value> {
                let mut __strata_at = __strata_index;
                #(#gets)*
                ::core::option::Option::None
            }

            fn column_defs(__strata_out: &mut ::std::vec::Vec<#krate::ColumnDef>) {
                #(#defs)*
            }

            fn write_values(&self, __strata_out: &mut ::std::vec::Vec<#value>) {
                #(#writes)*
            }

            #[allow(unused_variables)]
            fn read_values(__strata_values: &mut ::std::slice::IterMut<'_, #value>) -> #krate::Result<Self> {
                #helpers
                ::core::result::Result::Ok(Self { #(#reads,)* })
            }

            #[allow(unused_variables)]
            fn update_values(&mut self, __strata_values: &mut ::std::slice::IterMut<'_, #value>) -> #krate::Result<()> {
                #helpers
                #(#update_steps)*
                #(#assigns)*
                ::core::result::Result::Ok(())
            }
        }
    }
}

/// One `ColumnDef` literal pushed onto `__strata_out`.
fn column_def(krate: &TokenStream, f: &FieldSpec, a: &ColumnAttrs) -> TokenStream {
    let p = quote!(#krate::__private);
    let ty = &f.ty;
    let field = &f.name;
    let name = &f.column;
    let rust_type = type_string(ty);
    let some = quote!(::core::option::Option::Some);
    let none = quote!(::core::option::Option::None);
    let opt_str = |v: Option<String>| match v {
        Some(s) => quote!(#some(#s)),
        None => none.clone(),
    };
    let annotation = opt_str(a.annotation.as_ref().map(|s| s.value.value()));
    let foreign_key = opt_str(a.foreign_key.as_ref().map(|s| s.value.value()));
    let sql_type = match &a.sql_type {
        Some(s) => {
            let e = &s.value;
            quote!(#some(|| -> #p::SqlType { #e }))
        }
        None => none.clone(),
    };
    // The expression is passed to a generic function, so that a value of the wrong type is
    // reported on the whole expression.
    let into = |e: &syn::Expr, target: TokenStream, convert: &str| {
        let convert = format_ident!("{}", convert);
        quote! {
            #some(|| -> #target {
                fn #convert<T: ::core::convert::Into<#target>>(__strata_value: T) -> #target {
                    ::core::convert::Into::into(__strata_value)
                }
                #convert(#e)
            })
        }
    };
    let default = match (&a.default, &a.default_fn) {
        (Some(d), _) => into(&d.value, quote!(#p::ColumnDefault), "into_column_default"),
        (None, Some(df)) => {
            let path = &df.value;
            let call = quote_spanned!(path.span()=> #path());
            quote! {
                #some(|| -> #p::ColumnDefault {
                    #p::ColumnDefault::Callable(#p::Arc::new(|| {
                        let __strata_value: #ty = #call;
                        <#ty as #krate::SqlField>::to_value(&__strata_value)
                    }))
                })
            }
        }
        (None, None) => none.clone(),
    };
    let server_default = match &a.server_default {
        Some(d) => into(&d.value, quote!(#p::Expr), "into_server_default_expr"),
        None => none.clone(),
    };
    let onupdate = match &a.onupdate {
        Some(d) => into(&d.value, quote!(#p::ColumnDefault), "into_onupdate_default"),
        None => none.clone(),
    };
    let autoincrement = match &a.autoincrement {
        Some(b) => {
            let b = b.value;
            quote!(#some(#b))
        }
        None => none.clone(),
    };
    let primary_key = a.primary_key.is_some();
    let unique = a.unique.is_some();
    let index = a.index.is_some();
    let version = a.version.is_some();
    let default_type = quote_spanned!(ty.span()=> <#ty as #krate::SqlField>::sql_type);
    let nullable = quote_spanned!(ty.span()=> <#ty as #krate::SqlField>::NULLABLE);
    quote! {
        __strata_out.push(#krate::ColumnDef {
            field: #field,
            name: #name,
            rust_type: #rust_type,
            type_id: || #p::TypeId::of::<#ty>(),
            default_type: #default_type,
            annotation: #annotation,
            sql_type: #sql_type,
            nullable: #nullable,
            primary_key: #primary_key,
            autoincrement: #autoincrement,
            unique: #unique,
            index: #index,
            default: #default,
            server_default: #server_default,
            onupdate: #onupdate,
            foreign_key: #foreign_key,
            version: #version,
        });
    }
}

/// `tokens` with every span set to `span`, so that errors about generated code (a
/// missing trait impl, say) point at the user's field or expression.
fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    use proc_macro2::{Group, TokenTree};
    tokens
        .into_iter()
        .map(|t| match t {
            TokenTree::Group(g) => {
                let mut n = Group::new(g.delimiter(), respan(g.stream(), span));
                n.set_span(span);
                TokenTree::Group(n)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}
