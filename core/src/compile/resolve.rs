//! FROM resolution shared by the cache-key walk and the lowering walk: implicit FROM
//! items from column references, joins with inferred ON clauses, and correlation.

use std::sync::Arc;

use crate::sql::{infer_on, Expr, FromItem, Join, SelectCore};
use crate::{Error, Result};

/// Collect the FROM items referenced by columns of `e`, not descending into subqueries.
fn collect(e: &Expr, out: &mut Vec<FromItem>) {
    let push = |f: &FromItem, out: &mut Vec<FromItem>| {
        if !out.iter().any(|o| o.same(f)) {
            out.push(f.clone());
        }
    };
    match e {
        Expr::Column(c) => {
            if let Some(f) = &c.from {
                push(f, out)
            }
        }
        Expr::Star(Some(f)) => push(f, out),
        Expr::Binary(a, _, b) => {
            collect(a, out);
            collect(b, out);
        }
        Expr::Not(a) | Expr::Neg(a) | Expr::IsNull(a, _) | Expr::Cast(a, _) | Expr::Label(a, _) => {
            collect(a, out)
        }
        Expr::InList(a, _, _) | Expr::InSelect(a, _, _) => collect(a, out),
        Expr::InExprs(a, list, _) => {
            collect(a, out);
            list.iter().for_each(|x| collect(x, out));
        }
        Expr::And(v) | Expr::Or(v) | Expr::Tuple(v) => v.iter().for_each(|x| collect(x, out)),
        Expr::Between(a, b, c, _) => {
            collect(a, out);
            collect(b, out);
            collect(c, out);
        }
        Expr::Like { expr, pattern, .. } => {
            collect(expr, out);
            collect(pattern, out);
        }
        Expr::Function { args, .. } => args.iter().for_each(|x| collect(x, out)),
        Expr::Case(whens, else_) => {
            for (c, v) in whens {
                collect(c, out);
                collect(v, out);
            }
            if let Some(e) = else_ {
                collect(e, out);
            }
        }
        Expr::Over(f, w) => {
            collect(f, out);
            w.partition_by.iter().for_each(|x| collect(x, out));
            w.order_by.iter().for_each(|o| collect(&o.expr, out));
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

/// The final FROM list of a simple select: explicit items, then implicit ones from the
/// select list and WHERE clause (minus those correlated to `enclosing`), with joins
/// applied. Items carrying joins come last.
pub(crate) fn resolve_froms(core: &SelectCore, enclosing: &[FromItem]) -> Result<Vec<FromItem>> {
    let mut implicit = Vec::new();
    for e in core.columns.iter().chain(&core.where_) {
        collect(e, &mut implicit);
    }
    let mut froms: Vec<FromItem> = core.from.clone();
    for f in implicit {
        let covered = froms.iter().any(|x| x.contains(&f))
            || core.joins.iter().any(|(t, _, _)| t.contains(&f))
            || enclosing.iter().any(|x| x.contains(&f));
        if !covered {
            froms.push(f);
        }
    }
    let mut joined = vec![false; froms.len()];
    for (target, on, kind) in &core.joins {
        if froms.is_empty() {
            return Err(Error::InvalidStatement(format!(
                "join to {:?} has nothing to join from; add select_from()",
                target.name().unwrap_or("join")
            )));
        }
        let idx = match on {
            Some(_) => 0,
            None => froms
                .iter()
                .position(|f| infer_on(f, target).is_ok())
                .unwrap_or(0),
        };
        let on = match on {
            Some(on) => on.clone(),
            None => infer_on(&froms[idx], target)?,
        };
        let left = froms[idx].clone();
        froms[idx] = FromItem::Join(Arc::new(Join {
            left,
            right: target.clone(),
            on: Some(on),
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
