//! The order of a flush's DELETEs within one self-referential table, for databases
//! that check foreign keys row by row (MySQL's InnoDB): children's rows first.

use std::collections::HashMap;

use strata_core::Value;

use crate::info::{key_part, KeyHash, KeyPart, ModelInfo};

/// The foreign keys of a model's table that refer to the table itself, each as the
/// positions of its columns and of the columns it refers to in the model's values.
fn self_references(info: &ModelInfo) -> Vec<(Vec<usize>, Vec<usize>)> {
    let table = &info.table;
    let position = |name: &String| info.names.iter().position(|n| *n == name.as_str());
    table
        .foreign_keys()
        .iter()
        .filter(|fk| {
            fk.referred_table() == table.name()
                && fk.referred_schema().or(table.schema()) == table.schema()
        })
        .filter_map(|fk| {
            let from: Option<Vec<usize>> = fk.columns().iter().map(position).collect();
            let to: Option<Vec<usize>> = fk.referred_columns().iter().map(position).collect();
            Some((from?, to?))
        })
        .collect()
}

/// The values at `cols` of a row as a key; `None` when one is NULL.
fn key_at(values: &[Value], cols: &[usize]) -> Option<Vec<KeyPart>> {
    cols.iter().map(|&c| key_part(values, c)).collect()
}

/// The rows to delete (`rows[i]` the values of row `i` as the database has them) in
/// rounds of DELETEs: each row in a round after the rounds of all the rows that refer
/// to it (Kahn's algorithm, leaves first; linear in rows and references). Rows that
/// refer to each other in a cycle go together in a last round, where the database
/// refuses them as it would have anyway. `None` when one round takes them all.
pub(crate) fn leaves_first(info: &ModelInfo, rows: &[Vec<Value>]) -> Option<Vec<Vec<usize>>> {
    if rows.len() < 2 {
        return None;
    }
    rounds(&self_references(info), rows)
}

/// [`leaves_first`] given the self-references (see [`self_references`]).
fn rounds(refs: &[(Vec<usize>, Vec<usize>)], rows: &[Vec<Value>]) -> Option<Vec<Vec<usize>>> {
    if refs.is_empty() {
        return None;
    }
    // For each row, the rows it refers to, and how many rows refer to it.
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
    let mut children = vec![0usize; rows.len()];
    for (from, to) in refs {
        let mut by_key: HashMap<Vec<KeyPart>, usize, KeyHash> = HashMap::default();
        for (i, row) in rows.iter().enumerate() {
            if let Some(k) = key_at(row, to) {
                by_key.insert(k, i);
            }
        }
        for (i, row) in rows.iter().enumerate() {
            let parent = key_at(row, from).and_then(|k| by_key.get(&k).copied());
            if let Some(p) = parent.filter(|&p| p != i) {
                parents[i].push(p);
                children[p] += 1;
            }
        }
    }
    let mut round: Vec<usize> = (0..rows.len()).filter(|&i| children[i] == 0).collect();
    if round.len() == rows.len() {
        return None;
    }
    let mut rounds = Vec::new();
    let mut placed = 0;
    while !round.is_empty() {
        let mut next = Vec::new();
        for &i in &round {
            for &p in &parents[i] {
                children[p] -= 1;
                if children[p] == 0 {
                    next.push(p);
                }
            }
        }
        // Within a round, the rows keep the order they were given in.
        next.sort_unstable();
        placed += round.len();
        rounds.push(std::mem::replace(&mut round, next));
    }
    if placed < rows.len() {
        rounds.push((0..rows.len()).filter(|&i| children[i] > 0).collect());
    }
    Some(rounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of (id, parent_id), the parent NULL where `None`.
    fn tree(rows: &[(i64, Option<i64>)]) -> Vec<Vec<Value>> {
        rows.iter()
            .map(|&(id, parent)| vec![Value::BigInt(id), parent.map_or(Value::Null, Value::BigInt)])
            .collect()
    }

    /// `parent_id` (value 1) refers to `id` (value 0).
    fn parent_ref() -> Vec<(Vec<usize>, Vec<usize>)> {
        vec![(vec![1], vec![0])]
    }

    #[test]
    fn children_go_before_their_parents_and_siblings_together() {
        // 1 <- 2 <- 4, 1 <- 3, given root first.
        let rows = tree(&[(1, None), (2, Some(1)), (3, Some(1)), (4, Some(2))]);
        let rounds = rounds(&parent_ref(), &rows).unwrap();
        assert_eq!(rounds, [vec![2, 3], vec![1], vec![0]]);
    }

    #[test]
    fn one_round_without_references_among_the_rows() {
        // Parents outside the rows deleted do not split them.
        let rows = tree(&[(5, Some(1)), (6, Some(1)), (7, None)]);
        assert_eq!(rounds(&parent_ref(), &rows), None);
        // Nor do rows of a table without self-references.
        assert_eq!(rounds(&[], &tree(&[(1, None), (2, Some(1))])), None);
    }

    #[test]
    fn a_cycle_goes_last_in_one_round() {
        // 1 and 2 refer to each other; 3 refers to 1.
        let rows = tree(&[(1, Some(2)), (2, Some(1)), (3, Some(1)), (4, Some(4))]);
        let rounds = rounds(&parent_ref(), &rows).unwrap();
        // A row referring to itself needs no other row gone first.
        assert_eq!(rounds, [vec![2, 3], vec![0, 1]]);
    }
}
