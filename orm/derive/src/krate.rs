//! Finding the path through which generated code reaches strata-orm.

use proc_macro2::{Span, TokenStream};
use proc_macro_crate::{crate_name, FoundCrate};
use quote::quote;
use syn::{Ident, Path};

/// The path to strata-orm for generated code: the `#[model(crate = "...")]` override,
/// else a direct `strata-orm` dependency (`::strata_orm`, or its renamed name), else
/// the `strata` facade (`::strata::orm`), else `::strata_orm`.
pub(crate) fn orm_path(explicit: Option<&Path>) -> TokenStream {
    if let Some(p) = explicit {
        return quote!(#p);
    }
    match crate_name("strata-orm") {
        // `Itself`: an integration test, example or doctest of strata-orm itself, which
        // reaches the library under its own name.
        Ok(FoundCrate::Itself) => return quote!(::strata_orm),
        Ok(FoundCrate::Name(n)) => {
            let i = Ident::new(&n, Span::call_site());
            return quote!(::#i);
        }
        Err(_) => {}
    }
    match crate_name("strata") {
        Ok(FoundCrate::Itself) => quote!(::strata::orm),
        Ok(FoundCrate::Name(n)) => {
            let i = Ident::new(&n, Span::call_site());
            quote!(::#i::orm)
        }
        Err(_) => quote!(::strata_orm),
    }
}
