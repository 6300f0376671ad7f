//! FROM resolution shared by the cache-key walk and the lowering walk: implicit FROM
//! items from column references, joins with inferred ON clauses, and correlation.

use std::sync::Arc;

use crate::sql::{infer_on, Expr, FromItem, Join, SelectCore};
use crate::{Error, ForeignKey, Result, Table};

/// Pass the FROM items referenced by columns of `e` to `out`, not descending into
/// subqueries; `e` is `depth` levels below the expression the walk started from.
fn collect<F: FnMut(&FromItem)>(e: &Expr, out: &mut F, depth: u32) {
    super::depth::level(depth, || collect_node(e, out, depth + 1))
}

fn collect_node<F: FnMut(&FromItem)>(e: &Expr, out: &mut F, d: u32) {
    let push = |f: &FromItem, out: &mut F| out(f);
    match e {
        Expr::Column(c) => {
            if let Some(f) = c.from() {
                push(f, out)
            }
        }
        Expr::Star(Some(f)) => push(f, out),
        Expr::Binary(a, _, b) => {
            collect(a, out, d);
            collect(b, out, d);
        }
        Expr::Not(a) | Expr::Neg(a) | Expr::IsNull(a, _) | Expr::Cast(a, _) | Expr::Label(a, _) => {
            collect(a, out, d)
        }
        Expr::InList(a, _, _) | Expr::InSelect(a, _, _) => collect(a, out, d),
        Expr::InExprs(a, list, _) => {
            collect(a, out, d);
            list.iter().for_each(|x| collect(x, out, d));
        }
        Expr::And(v) | Expr::Or(v) | Expr::Tuple(v) => v.iter().for_each(|x| collect(x, out, d)),
        Expr::Between(a, b, c, _) => {
            collect(a, out, d);
            collect(b, out, d);
            collect(c, out, d);
        }
        Expr::Like { expr, pattern, .. } => {
            collect(expr, out, d);
            collect(pattern, out, d);
        }
        Expr::Function { args, .. } => args.iter().for_each(|x| collect(x, out, d)),
        Expr::Case(whens, else_) => {
            for (c, v) in whens {
                collect(c, out, d);
                collect(v, out, d);
            }
            if let Some(e) = else_ {
                collect(e, out, d);
            }
        }
        Expr::Over(f, w) => {
            collect(f, out, d);
            w.partition_by.iter().for_each(|x| collect(x, out, d));
            w.order_by.iter().for_each(|o| collect(&o.expr, out, d));
        }
        Expr::Param(_)
        | Expr::Null
        | Expr::Bool(_)
        | Expr::Raw(_)
        | Expr::Star(None)
        | Expr::Exists(_)
        | Expr::ScalarSubquery(_)
        | Expr::Excluded(_)
        | Expr::Invalid(_) => {}
    }
}

/// Visit the tables inside a FROM item (as `FromItem::tables` lists them), without
/// allocating.
fn each_table(f: &FromItem, cb: &mut impl FnMut(&Table)) {
    f.any_item(|item| {
        if let FromItem::Table(t) | FromItem::Alias(t, _) = item {
            cb(t);
        }
        false
    });
}

/// Visit each foreign key linking a table of `left` with a table of `right`, in the
/// order `infer_on` considers them, with the child table.
fn each_link(left: &FromItem, right: &FromItem, cb: &mut impl FnMut(&Table, &ForeignKey)) {
    each_table(left, &mut |lt| {
        each_table(right, &mut |rt| {
            for (child, parent) in [(rt, lt), (lt, rt)] {
                for fk in child.foreign_keys() {
                    if fk.referred_table() == parent.name()
                        && fk
                            .referred_schema()
                            .is_none_or(|s| Some(s) == parent.schema())
                    {
                        cb(child, fk);
                    }
                }
            }
        })
    });
}

/// How many foreign keys link a table of `left` with a table of `right`: `infer_on`
/// succeeds exactly when this is one. Counting builds no expressions.
fn fk_links(left: &FromItem, right: &FromItem) -> usize {
    let mut n = 0;
    each_link(left, right, &mut |_, _| n += 1);
    n
}

/// Write what an inferred ON clause between `left` and `right` is made of (each linking
/// foreign key's table and columns) for the cache key, without building the clause.
pub(crate) fn foreign_key_links(left: &FromItem, right: &FromItem, out: &mut impl FnMut(&str)) {
    each_link(left, right, &mut |child, fk| {
        out(child.name());
        for c in fk.columns().iter().chain(fk.referred_columns()) {
            out(c);
        }
    });
}

/// The final FROM list of a simple select: explicit items, then implicit ones from the
/// select list and WHERE clause (minus those correlated to `enclosing`), with joins
/// applied. Items carrying joins come last.
///
/// With `infer` unset (the cache-key walk), a join whose ON clause would be inferred
/// from foreign keys keeps `on: None`: the inferred clause is a function of the two
/// sides, which the key already records, so the key walk need not build it.
pub(crate) fn resolve_froms(
    core: &SelectCore,
    enclosing: &[FromItem],
    infer: bool,
) -> Result<Vec<FromItem>> {
    let mut froms: Vec<FromItem> = core.from.clone();
    let explicit = froms.len();
    let mut correlated: Vec<FromItem> = Vec::new();
    // Implicit items in order of first reference, each once, unless covered by a FROM
    // item or a join target; those of an enclosing query are correlated.
    let mut add = |f: &FromItem| {
        let seen =
            froms[explicit..].iter().any(|x| x.same(f)) || correlated.iter().any(|x| x.same(f));
        let covered =
            froms.iter().any(|x| x.contains(f)) || core.joins.iter().any(|(t, _, _)| t.contains(f));
        if seen || covered {
            return;
        }
        if enclosing.iter().any(|x| x.contains(f)) {
            correlated.push(f.clone());
        } else {
            froms.push(f.clone());
        }
    };
    for e in core.columns.iter().chain(&core.where_) {
        collect(e, &mut add, 0);
    }
    // Auto-correlation never takes away every FROM item (as in SQLAlchemy): a subquery
    // that reads only tables of the enclosing statement reads them itself.
    if froms.is_empty() {
        froms = correlated;
    }
    if core.joins.is_empty() {
        return Ok(froms);
    }
    let mut joined = vec![false; froms.len()];
    for (target, on, kind) in &core.joins {
        if froms.is_empty() {
            return Err(Error::InvalidStatement(format!(
                "join to {:?} has nothing to join from; add select_from()",
                target.name().unwrap_or("join")
            )));
        }
        // Without ON, the first item linked to the target by exactly one foreign key.
        let linked = match on {
            Some(_) => None,
            None => froms.iter().position(|f| fk_links(f, target) == 1),
        };
        let idx = linked.unwrap_or(0);
        let on = match on {
            Some(on) => Some(on.clone()),
            // No single link: `infer_on` reports the ambiguity or the missing key.
            None if infer || linked.is_none() => Some(infer_on(&froms[idx], target)?),
            None => None,
        };
        let left = froms[idx].clone();
        froms[idx] = FromItem::Join(Arc::new(Join {
            left,
            right: target.clone(),
            on,
            kind: *kind,
        }));
        joined[idx] = true;
    }
    if joined.iter().any(|j| *j) && froms.len() > 1 {
        let (mut plain, with_joins): (Vec<_>, Vec<_>) =
            froms.into_iter().zip(joined).partition(|(_, j)| !*j);
        plain.extend(with_joins);
        froms = plain.into_iter().map(|(f, _)| f).collect();
    }
    Ok(froms)
}

/// Fill in inferred ON clauses of a join tree given directly as a FROM item.
pub(crate) fn join_on(j: &Join) -> Result<Expr> {
    match &j.on {
        Some(on) => Ok(on.clone()),
        None => infer_on(&j.left, &j.right),
    }
}
