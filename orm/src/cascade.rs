//! The objects a session operation reaches along relationship cascades.

use std::sync::Arc;

use crate::handle::AnyObject;
use crate::plan::{ptr, PtrSet};
use crate::relationship::Cascade;

/// The objects of session `session` reached from `root` through loaded relationships
/// whose cascade `follows`, and from those onwards (`root` itself left out), in the
/// order they are met.
pub(crate) fn reached(
    root: &Arc<dyn AnyObject>,
    session: u64,
    follows: fn(&Cascade) -> bool,
) -> Vec<Arc<dyn AnyObject>> {
    let mut seen = PtrSet::default();
    seen.insert(ptr(root));
    let mut out: Vec<Arc<dyn AnyObject>> = Vec::new();
    let mut next = 0;
    let mut visit = |o: &Arc<dyn AnyObject>, out: &mut Vec<Arc<dyn AnyObject>>| {
        for (index, def) in o.info().relationships.iter().enumerate() {
            if !follows(&def.cascade) {
                continue;
            }
            for m in o.rel_members(index).unwrap_or_default() {
                if m.0.meta().session() == Some(session) && seen.insert(ptr(&m.0)) {
                    out.push(m.0);
                }
            }
        }
    };
    visit(root, &mut out);
    while next < out.len() {
        let o = out[next].clone();
        next += 1;
        visit(&o, &mut out);
    }
    out
}
