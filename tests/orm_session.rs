//! Session behaviour (identity map, unit of work, states, concurrency, both levels),
//! run on SQLite, PostgreSQL and MySQL (MariaDB).

#[allow(dead_code)]
#[macro_use]
mod support;

use std::sync::{Arc, Mutex};

use strata::orm::{select, ColumnSet, Embeddable, Handle, Model, ObjectState, Registry, Session};
use strata::{func, insert, text, update, Engine, Value};

#[derive(Model, Debug, Clone, PartialEq)]
#[model(table = "authors")]
struct Author {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(unique, sql_type = strata::SqlType::String(Some(50)))]
    name: String,
    email: Option<String>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(table = "books", validate = check_book)]
struct Book {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(foreign_key = "authors.id")]
    author_id: i64,
    title: String,
    #[column(default = 0)]
    pages: i32,
    #[column(version)]
    version: i64,
}

fn check_book(b: &Book) -> Result<(), String> {
    if b.title.trim().is_empty() {
        return Err("a book needs a title".into());
    }
    Ok(())
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(table = "shelf_slots")]
struct ShelfSlot {
    #[column(primary_key)]
    shelf: i32,
    #[column(primary_key)]
    slot: i32,
    label: String,
}

#[derive(Model, Debug, Clone)]
#[model(table = "stamped")]
struct Stamped {
    #[column(primary_key)]
    id: Option<i64>,
    note: String,
    #[column(server_default = strata::func::now())]
    created_at: Option<String>,
    #[column(onupdate = 7)]
    touches: Option<i64>,
}

/// A row whose version column may be NULL (rows written outside the ORM).
#[derive(Model, Debug, Clone)]
#[model(table = "drafts")]
struct Draft {
    #[column(primary_key)]
    id: Option<i64>,
    body: String,
    #[column(version)]
    rev: Option<i64>,
}

/// A row whose every column the database fills.
#[derive(Model, Debug, Clone)]
#[model(table = "tickets")]
struct Ticket {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(server_default = strata::func::now())]
    issued_at: Option<String>,
}

/// A model keyed by text, beside the integer keys of the others in one identity map.
#[derive(Model, Debug, Clone)]
#[model(table = "countries")]
struct Country {
    #[column(primary_key, sql_type = strata::SqlType::String(Some(2)))]
    code: String,
    name: String,
}

/// Columns embedded between a model's own, for the in-place dirty check.
#[derive(Embeddable, Debug, Clone, Default, PartialEq)]
struct Dimensions {
    width: f64,
    height: Option<f64>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(table = "prints")]
struct Print {
    #[column(primary_key)]
    id: Option<i64>,
    title: String,
    #[column(flatten)]
    size: Dimensions,
    scan: Option<Vec<u8>>,
    copies: i32,
}

fn registry() -> Registry {
    Registry::new()
        .map::<Author>()
        .and_then(|r| r.map::<Book>())
        .and_then(|r| r.map::<ShelfSlot>())
        .and_then(|r| r.map::<Stamped>())
        .and_then(|r| r.map::<Print>())
        .and_then(|r| r.map::<Draft>())
        .and_then(|r| r.map::<Ticket>())
        .and_then(|r| r.map::<Country>())
        .and_then(|r| r.configure())
        .expect("mapping is valid")
}

fn author(name: &str) -> Author {
    Author {
        id: None,
        name: name.into(),
        email: None,
    }
}

fn book(author_id: i64, title: &str) -> Book {
    Book {
        id: None,
        author_id,
        title: title.into(),
        pages: 100,
        version: 1,
    }
}

/// Record every statement an engine sends.
fn recorder(engine: &Engine) -> Arc<Mutex<Vec<String>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    engine.on_execute(move |sql, _| l.lock().unwrap().push(sql.to_string()));
    log
}

fn taken(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// `name` quoted as the engine's SQL quotes it (backticks on MySQL).
fn quoted(engine: &Engine, name: &str) -> String {
    match engine.dialect().name() {
        "mysql" => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

fn count(engine: &Engine, table: &str) -> i64 {
    let mut c = engine.connect().unwrap();
    c.execute(&text(&format!("SELECT count(*) FROM {table}")))
        .unwrap()
        .scalar_one::<i64>()
        .unwrap()
}

fn setup(engine: &Engine) -> Registry {
    let r = registry();
    r.metadata().drop_all(engine).unwrap();
    r.metadata().create_all(engine).unwrap();
    r
}

on_all!(
    crate::support::plain;
    identity_map_returns_the_same_object,
    identity_map_keeps_models_and_kinds_of_key_apart,
    changed_objects_are_written_in_the_order_the_session_met_them,
    query_does_not_overwrite_pending_changes,
    delete_removes_the_row,
    autoflush_before_queries,
    expire_on_commit_reloads_on_next_get,
    failed_flush_writes_nothing_and_keeps_object_states,
    failed_second_flush_keeps_the_first,
    updates_of_one_shape_run_together_and_fail_as_one,
    rollback_discards_pending_and_changes,
    states_through_the_life_cycle,
    close_detaches_objects_and_expires_only_after_writes,
    detached_objects_are_a_clear_error,
    merge_copies_onto_the_persistent_object,
    version_column_detects_lost_updates,
    null_version_is_matched_with_is_null,
    objects_that_send_no_column_are_inserted_one_by_one,
    validation_aborts_the_flush,
    core_and_orm_give_the_same_results,
    legacy_query_api,
    composite_primary_key,
    changing_the_primary_key_moves_the_object_in_the_identity_map,
    a_new_object_takes_over_the_row_of_one_deleted_in_the_same_flush,
    expire_and_rollback_drop_unflushed_changes,
    rollback_gives_flushed_objects_their_rows_values_back,
    a_key_given_again_after_a_delete_is_the_new_objects,
    adding_an_object_marked_for_deletion_takes_the_mark_back,
    server_defaults_and_onupdate_are_read_back,
    add_commit_assigns_keys_in_one_batched_insert,
    update_sets_only_changed_columns_and_nothing_when_unchanged,
    dirty_check_compares_fields_in_place_across_embedded_columns,
    inserts_parents_first_and_deletes_children_first,
    refresh_expire_expunge,
    gets_of_models_in_turn_each_send_their_own_select,
);

fn add_commit_assigns_keys_in_one_batched_insert(engine: &Engine) {
    setup(engine);
    let log = recorder(engine);
    let mut s = Session::new(engine);
    let objs = s.add_all((0..5).map(|i| author(&format!("a{i}")))).unwrap();
    assert!(objs.iter().all(|o| o.state() == ObjectState::Pending));
    s.commit().unwrap();
    let inserts: Vec<String> = taken(&log)
        .into_iter()
        .filter(|q| q.starts_with("INSERT"))
        .collect();
    // One multi-row INSERT ... RETURNING; without RETURNING (MySQL), one INSERT a row,
    // each key read from the connection's last insert id.
    let batched = engine.dialect().capabilities().returning;
    assert_eq!(inserts.len(), if batched { 1 } else { 5 }, "{inserts:?}");
    let ids: Vec<i64> = objs.iter().map(|o| o.read().id.unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    for (i, o) in objs.iter().enumerate() {
        assert_eq!(o.read().name, format!("a{i}"));
        assert_eq!(o.state(), ObjectState::Persistent);
    }
    assert_eq!(count(engine, "authors"), 5);
}

fn identity_map_returns_the_same_object(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(author("Alice")).unwrap();
    s.commit().unwrap();
    let before = engine.statements_executed();
    let user1 = s.get::<Author>(1).unwrap().unwrap();
    let after_first = engine.statements_executed();
    let user2 = s.get::<Author>(1).unwrap().unwrap();
    // assert user1 is user2
    assert!(Handle::ptr_eq(&user1, &user2));
    assert_eq!(
        engine.statements_executed(),
        after_first,
        "the second get sends no SQL"
    );
    assert!(after_first > before);
    let via_query = s
        .scalar(&select::<Author>().filter(Author::name.eq("Alice")))
        .unwrap()
        .unwrap();
    assert!(Handle::ptr_eq(&user1, &via_query));
    assert!(s.get::<Author>(99).unwrap().is_none());
}

fn identity_map_keeps_models_and_kinds_of_key_apart(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(author("Alice")).unwrap();
    s.add(Draft {
        id: None,
        body: "first".into(),
        rev: None,
    })
    .unwrap();
    for (code, name) in [("fr", "France"), ("de", "Germany")] {
        s.add(Country {
            code: code.into(),
            name: name.into(),
        })
        .unwrap();
    }
    s.commit().unwrap();

    // Two models with the same integer key are two objects, each loaded by its own
    // SELECT; asked again, each is its own map entry.
    let mut s = Session::new(engine);
    let alice = s.get::<Author>(1).unwrap().unwrap();
    let before = engine.statements_executed();
    let draft = s.get::<Draft>(1).unwrap().unwrap();
    assert_eq!(engine.statements_executed(), before + 1);
    assert_eq!(draft.read().body, "first");
    let sent = engine.statements_executed();
    assert!(Handle::ptr_eq(
        &s.get::<Author>(1).unwrap().unwrap(),
        &alice
    ));
    assert!(Handle::ptr_eq(&s.get::<Draft>(1).unwrap().unwrap(), &draft));
    assert_eq!(engine.statements_executed(), sent);

    // A text key: one object, whether by get or by query.
    let fr = s.get::<Country>("fr").unwrap().unwrap();
    let sent = engine.statements_executed();
    assert!(Handle::ptr_eq(
        &s.get::<Country>("fr").unwrap().unwrap(),
        &fr
    ));
    assert_eq!(engine.statements_executed(), sent);
    let all = s.scalars(&select::<Country>()).unwrap().all();
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|c| Handle::ptr_eq(c, &fr)));
    assert!(s.get::<Country>("it").unwrap().is_none());
    assert_eq!(s.identity_map_len(), 4);

    // Changed, deleted and expunged through the text-keyed entries.
    fr.write().name = "République française".into();
    let de = s.get::<Country>("de").unwrap().unwrap();
    s.delete(&de).unwrap();
    s.commit().unwrap();
    assert_eq!(de.state(), ObjectState::Detached);
    assert!(s.get::<Country>("de").unwrap().is_none());
    let fresh = Session::new(engine).get::<Country>("fr").unwrap().unwrap();
    assert_eq!(fresh.read().name, "République française");
    s.expunge(&fr).unwrap();
    let again = s.get::<Country>("fr").unwrap().unwrap();
    assert!(!Handle::ptr_eq(&again, &fr));
    assert_eq!(again.read().name, "République française");
}

fn changed_objects_are_written_in_the_order_the_session_met_them(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add_all((0..4).map(|i| author(&format!("a{i}")))).unwrap();
    s.commit().unwrap();
    // Met in the order 3, 1, 4, 2: two by get, the rest by a query. (With nothing
    // taken out of the identity map in between: a removal moves its last entry into
    // the gap, so after one the order is no longer promised.)
    let mut s = Session::new(engine);
    let mut met = vec![
        s.get::<Author>(3).unwrap().unwrap(),
        s.get::<Author>(1).unwrap().unwrap(),
    ];
    met.extend(
        s.scalars(&select::<Author>().order_by([Author::id.desc()]))
            .unwrap()
            .all()
            .into_iter()
            .filter(|a| matches!(a.read().id, Some(2 | 4))),
    );
    for a in met.iter().rev() {
        let mut w = a.write();
        w.name = format!("{}!", w.name);
    }
    let updated = Arc::new(Mutex::new(Vec::new()));
    let seen = updated.clone();
    engine.on_execute(move |sql, params| {
        if sql.starts_with("UPDATE") {
            seen.lock()
                .unwrap()
                .extend(params.last().map(|v| (*v).clone()));
        }
    });
    s.commit().unwrap();
    let ids: Vec<Value> = [3, 1, 4, 2].into_iter().map(Value::BigInt).collect();
    assert_eq!(*updated.lock().unwrap(), ids);
}

fn query_does_not_overwrite_pending_changes(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.set_autoflush(false);
    s.add(author("Alice")).unwrap();
    s.commit().unwrap();
    let a = s.get::<Author>(1).unwrap().unwrap();
    a.write().email = Some("changed@example.com".into());
    let again = s.scalars(&select::<Author>()).unwrap().all();
    assert!(Handle::ptr_eq(&a, &again[0]));
    assert_eq!(
        again[0].read().email.as_deref(),
        Some("changed@example.com")
    );
}

fn update_sets_only_changed_columns_and_nothing_when_unchanged(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(author("Alice")).unwrap();
    s.commit().unwrap();
    let a = s.get::<Author>(1).unwrap().unwrap();
    let log = recorder(engine);
    a.write().email = Some("new@email.com".into());
    s.commit().unwrap();
    let updates: Vec<String> = taken(&log)
        .into_iter()
        .filter(|q| q.starts_with("UPDATE"))
        .collect();
    assert_eq!(updates.len(), 1);
    let (email, name) = (quoted(engine, "email"), quoted(engine, "name"));
    assert!(
        updates[0].contains(&format!("SET {email} = ")),
        "{}",
        updates[0]
    );
    assert!(!updates[0].contains(&format!("{name} =")), "{}", updates[0]);
    // Touching without changing sends no UPDATE.
    let a = s.get::<Author>(1).unwrap().unwrap();
    let _ = taken(&log);
    {
        let mut w = a.write();
        let same = w.name.clone();
        w.name = same;
    }
    s.commit().unwrap();
    assert!(taken(&log).iter().all(|q| !q.starts_with("UPDATE")));
    let mut c = engine.connect().unwrap();
    let email: String = c
        .execute(&text("SELECT email FROM authors WHERE id = 1"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(email, "new@email.com");
}

fn dirty_check_compares_fields_in_place_across_embedded_columns(engine: &Engine) {
    setup(engine);
    let print = Print {
        id: None,
        title: "Dunes".into(),
        size: Dimensions {
            width: 30.0,
            height: Some(f64::NAN),
        },
        scan: Some(vec![1, 2, 3]),
        copies: 5,
    };
    // The column walk the derive generates, embedded columns included.
    assert_eq!(Print::column_count(), 6);
    let mut values = Vec::new();
    print.write_values(&mut values);
    assert_eq!(print.column_value(2), Some(Value::Double(30.0)));
    assert_eq!(print.column_value(4), Some(Value::Bytes(vec![1, 2, 3])));
    assert_eq!(print.column_value(6), None);
    let diff = |p: &Print, values: &[Value]| {
        let mut changed = Vec::new();
        p.diff_values(values, &mut |i| changed.push(i));
        changed
    };
    // NaN is the same as itself, as `Value::same_as` says.
    assert_eq!(diff(&print, &values), Vec::<usize>::new());
    let mut other = print.clone();
    other.size.width = 31.0;
    other.scan = None;
    assert_eq!(diff(&other, &values), vec![2, 4]);
    // Columns past the given values count as changed.
    assert_eq!(diff(&other, &values[..3]), vec![2, 3, 4, 5]);

    let mut s = Session::new(engine);
    let print = if engine.dialect().name() != "postgresql" {
        // SQLite would store NaN as NULL, MySQL cannot store it: the flush refuses it
        // and writes nothing.
        let refused = s.add(print.clone()).unwrap();
        let err = s.commit().unwrap_err().to_string();
        assert!(err.contains("NaN"), "{err}");
        assert_eq!(count(engine, "prints"), 0);
        s.expunge(&refused).unwrap();
        Print {
            size: Dimensions {
                height: Some(1.5),
                ..print.size
            },
            ..print
        }
    } else {
        print
    };
    let p = s.add(print).unwrap();
    s.commit().unwrap();
    let log = recorder(engine);
    assert!(!p.is_modified());
    {
        let mut w = p.write();
        w.size.height = Some(12.5);
        w.copies = 6;
        w.title = "Dunes".to_string();
    }
    assert!(p.is_modified());
    s.commit().unwrap();
    let updates: Vec<String> = taken(&log)
        .into_iter()
        .filter(|q| q.starts_with("UPDATE"))
        .collect();
    assert_eq!(updates.len(), 1, "{updates:?}");
    let set = |column: &str| format!("{} = ", quoted(engine, column));
    assert!(
        updates[0].contains(&format!("SET {}", set("height")))
            && updates[0].contains(&set("copies")),
        "{}",
        updates[0]
    );
    assert!(!updates[0].contains(&set("title")), "{}", updates[0]);
    assert!(!updates[0].contains(&set("width")), "{}", updates[0]);
    assert!(!p.is_modified());
    // What the database holds, read through a new session.
    let mut s = Session::new(engine);
    let back = s.get::<Print>(p.read().id.unwrap()).unwrap().unwrap();
    let back = back.read().clone();
    assert_eq!(back.size.height, Some(12.5));
    assert_eq!((back.copies, back.size.width), (6, 30.0));
    assert_eq!(back.scan, Some(vec![1, 2, 3]));
}

fn delete_removes_the_row(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add_all([author("A"), author("B"), author("C")]).unwrap();
    s.commit().unwrap();
    let b = s.get::<Author>(2).unwrap().unwrap();
    let c = s.get::<Author>(3).unwrap().unwrap();
    // Marked twice, deleted once; expunged after marking, not deleted at all.
    let log = recorder(engine);
    s.delete(&b).unwrap();
    s.delete(&b).unwrap();
    s.delete(&c).unwrap();
    s.expunge(&c).unwrap();
    s.flush().unwrap();
    let deletes = taken(&log)
        .into_iter()
        .filter(|q| q.starts_with("DELETE"))
        .count();
    assert_eq!(deletes, 1);
    assert_eq!(c.state(), ObjectState::Detached);
    let c = s.get::<Author>(3).unwrap().unwrap();
    s.delete(&c).unwrap();
    s.flush().unwrap();
    assert_eq!(b.state(), ObjectState::Deleted);
    assert!(s.get::<Author>(2).unwrap().is_none());
    s.commit().unwrap();
    assert_eq!(b.state(), ObjectState::Detached);
    assert_eq!(count(engine, "authors"), 1);
    // No row has a NULL primary key: nothing to look up, no SQL sent.
    let log = recorder(engine);
    assert!(s.get::<Author>(vec![Value::Null]).unwrap().is_none());
    assert!(taken(&log).is_empty());
}

fn inserts_parents_first_and_deletes_children_first(engine: &Engine) {
    setup(engine);
    let log = recorder(engine);
    let mut s = Session::new(engine);
    // The child is added first and names its parent's key by hand.
    let b = s
        .add(Book {
            id: None,
            author_id: 1,
            title: "T".into(),
            pages: 1,
            version: 1,
        })
        .unwrap();
    let a = s
        .add(Author {
            id: Some(1),
            name: "P".into(),
            email: None,
        })
        .unwrap();
    s.commit().unwrap();
    let inserts: Vec<String> = taken(&log)
        .into_iter()
        .filter(|q| q.starts_with("INSERT"))
        .collect();
    let (authors, books) = (quoted(engine, "authors"), quoted(engine, "books"));
    assert!(inserts[0].contains(&authors), "{inserts:?}");
    assert!(inserts[1].contains(&books), "{inserts:?}");
    let a = s.get::<Author>(a.read().id.unwrap()).unwrap().unwrap();
    let b = s.get::<Book>(b.read().id.unwrap()).unwrap().unwrap();
    s.delete(&a).unwrap();
    s.delete(&b).unwrap();
    s.commit().unwrap();
    let deletes: Vec<String> = taken(&log)
        .into_iter()
        .filter(|q| q.starts_with("DELETE"))
        .collect();
    assert!(
        deletes[0].contains(&books) && deletes[1].contains(&authors),
        "{deletes:?}"
    );
    assert_eq!(count(engine, "books"), 0);
}

fn autoflush_before_queries(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(author("Pending")).unwrap();
    let found = s
        .scalars(&select::<Author>().filter(Author::name.eq("Pending")))
        .unwrap()
        .all();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].state(), ObjectState::Persistent);
    let n: i64 = s
        .execute(&text("SELECT count(*) FROM authors"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(n, 1);
}

fn expire_on_commit_reloads_on_next_get(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let a = s.add(author("Old")).unwrap();
    s.commit().unwrap();
    assert!(a.is_expired());
    engine
        .connect()
        .unwrap()
        .execute(&text("UPDATE authors SET name = 'New' WHERE id = 1"))
        .unwrap();
    let again = s.get::<Author>(1).unwrap().unwrap();
    assert!(Handle::ptr_eq(&a, &again));
    assert_eq!(a.read().name, "New");
    assert!(!a.is_expired());
}

fn failed_flush_writes_nothing_and_keeps_object_states(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(author("Taken")).unwrap();
    s.commit().unwrap();
    let existing = s.get::<Author>(1).unwrap().unwrap();
    existing.write().email = Some("dirty@example.com".into());
    let ok = s.add(author("Fine")).unwrap();
    let dup = s.add(author("Taken")).unwrap();
    integrity_error(s.flush().unwrap_err(), "INSERT");
    assert_eq!(ok.state(), ObjectState::Pending);
    assert_eq!(dup.state(), ObjectState::Pending);
    assert!(
        ok.read().id.is_none(),
        "generated keys are not kept after a failed flush"
    );
    assert_eq!(existing.read().email.as_deref(), Some("dirty@example.com"));
    assert!(existing.is_modified());
    assert_eq!(count(engine, "authors"), 1);
    // Fix the problem; the same session flushes everything.
    s.expunge(&dup).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "authors"), 2);
    let mut c = engine.connect().unwrap();
    let email: String = c
        .execute(&text("SELECT email FROM authors WHERE id = 1"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(email, "dirty@example.com");
}

fn failed_second_flush_keeps_the_first(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(author("First")).unwrap();
    s.flush().unwrap();
    let dup = s.add(author("First")).unwrap();
    assert!(s.flush().is_err());
    s.expunge(&dup).unwrap();
    let n: i64 = s
        .execute(&text("SELECT count(*) FROM authors"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(n, 1, "the first flush survives inside the transaction");
}

/// Assert that a failed flush is an integrity error naming the model `Author` and
/// `statement`; its message.
fn integrity_error(err: strata::orm::Error, statement: &str) -> String {
    assert_eq!(
        err.db_kind(),
        Some(strata::DbErrorKind::IntegrityError),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("Author") && msg.contains(statement), "{msg}");
    msg
}

/// The names of the authors in the database, by id.
fn author_names(engine: &Engine) -> Vec<String> {
    let mut c = engine.connect().unwrap();
    c.execute(&text("SELECT name FROM authors ORDER BY id"))
        .unwrap()
        .scalars::<String>()
        .unwrap()
}

/// Many UPDATEs of one shape run together (pipelined on PostgreSQL): each is still a
/// statement of its own, checked on its own, and a failure in the middle names its
/// object and leaves nothing written.
fn updates_of_one_shape_run_together_and_fail_as_one(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let all = s.add_all((0..6).map(|i| author(&format!("a{i}")))).unwrap();
    s.commit().unwrap();
    let before: Vec<String> = (0..6).map(|i| format!("a{i}")).collect();

    // A unique violation in the middle: a2 takes a5's name.
    for (i, a) in all.iter().enumerate() {
        a.write().name = if i == 2 { "a5".into() } else { format!("b{i}") };
    }
    all[5].write().name = "a5".into();
    let msg = integrity_error(s.flush().unwrap_err(), "UPDATE");
    assert!(
        msg.contains("(3)"),
        "names the failing object (id 3): {msg}"
    );
    assert_eq!(author_names(engine), before, "nothing of the flush stays");
    assert!(all.iter().all(|a| a.is_modified() || a.read().name == "a5"));
    assert_eq!(
        all[0].read().name,
        "b0",
        "changes are kept for the next flush"
    );

    // Fixed, the same changes flush: one UPDATE statement per changed object.
    all[2].write().name = "b2".into();
    let log = recorder(engine);
    s.commit().unwrap();
    let updates = taken(&log)
        .into_iter()
        .filter(|q| q.starts_with("UPDATE"))
        .count();
    assert_eq!(updates, 5, "a5 kept its name: no UPDATE for it");
    assert_eq!(author_names(engine), ["b0", "b1", "b2", "b3", "b4", "a5"]);

    // A row deleted behind the session's back: its UPDATE matches nothing.
    engine
        .connect()
        .unwrap()
        .execute(&text("DELETE FROM authors WHERE id = 4"))
        .unwrap();
    for (i, a) in all.iter().enumerate() {
        a.write().name = format!("c{i}");
    }
    let err = s.commit().unwrap_err();
    match &err {
        strata::orm::Error::StaleData {
            model,
            key,
            matched,
            expected,
            ..
        } => {
            assert_eq!((model.as_str(), key.as_str()), ("Author", "(4)"), "{err}");
            assert_eq!((*matched, *expected), (0, 1));
        }
        other => panic!("expected StaleData, got {other}"),
    }
    s.rollback().unwrap();
    assert_eq!(author_names(engine), ["b0", "b1", "b2", "b4", "a5"]);
}

fn rollback_discards_pending_and_changes(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(author("Kept")).unwrap();
    s.commit().unwrap();
    let kept = s.get::<Author>(1).unwrap().unwrap();
    kept.write().name = "Changed".into();
    let fresh = s.add(author("Gone")).unwrap();
    s.flush().unwrap();
    s.rollback().unwrap();
    assert_eq!(fresh.state(), ObjectState::Transient);
    let again = s.get::<Author>(1).unwrap().unwrap();
    assert_eq!(again.read().name, "Kept");
    assert_eq!(count(engine, "authors"), 1);
}

fn states_through_the_life_cycle(engine: &Engine) {
    setup(engine);
    let h = Handle::new(author("Life")).unwrap();
    assert_eq!(h.state(), ObjectState::Transient);
    let mut s = Session::new(engine);
    s.add(&h).unwrap();
    assert_eq!(h.state(), ObjectState::Pending);
    s.flush().unwrap();
    assert_eq!(h.state(), ObjectState::Persistent);
    s.delete(&h).unwrap();
    s.flush().unwrap();
    assert_eq!(h.state(), ObjectState::Deleted);
    s.commit().unwrap();
    assert_eq!(h.state(), ObjectState::Detached);
    let other = s.add(author("Other")).unwrap();
    s.commit().unwrap();
    s.close().unwrap();
    assert_eq!(other.state(), ObjectState::Detached);
}

fn close_detaches_objects_and_expires_only_after_writes(engine: &Engine) {
    setup(engine);
    {
        let mut s = Session::new(engine);
        s.add_all([author("Read"), author("Written")]).unwrap();
        s.commit().unwrap();
    }
    // A transaction that only read: the objects keep their values, not expired.
    let mut s = Session::new(engine);
    let read = s
        .scalars(&select::<Author>().filter(Author::name.eq("Read")))
        .unwrap()
        .one()
        .unwrap();
    read.write().email = Some("unflushed@example.com".into());
    s.close().unwrap();
    assert_eq!(read.state(), ObjectState::Detached);
    assert!(!read.is_expired());
    assert_eq!(read.read().email.as_deref(), Some("unflushed@example.com"));
    // The same session starts afresh: the row is another object now, and the first
    // one stays detached.
    let again = s.get::<Author>(read.read().id.unwrap()).unwrap().unwrap();
    assert!(!Handle::ptr_eq(&again, &read));
    assert_eq!(again.state(), ObjectState::Persistent);
    assert_eq!(again.read().email, None, "the change was never flushed");
    assert_eq!(read.state(), ObjectState::Detached);
    assert!(
        s.refresh(&read).is_err(),
        "a detached object is not in the session"
    );
    // Re-attached, its unflushed change is written, as SQLAlchemy does for a detached
    // object added back.
    s.expunge(&again).unwrap();
    s.add(&read).unwrap();
    assert_eq!(read.state(), ObjectState::Persistent);
    s.commit().unwrap();
    let mut c = engine.connect().unwrap();
    let email: Option<String> = c
        .execute(&text("SELECT email FROM authors WHERE name = 'Read'"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(email.as_deref(), Some("unflushed@example.com"));
    drop(c);

    // A transaction that wrote and was not committed: closing rolls it back and
    // expires the objects, whose values may no longer be the database's.
    let mut s = Session::new(engine);
    let written = s
        .scalars(&select::<Author>().filter(Author::name.eq("Written")))
        .unwrap()
        .one()
        .unwrap();
    written.write().email = Some("flushed@example.com".into());
    s.flush().unwrap();
    s.close().unwrap();
    assert_eq!(written.state(), ObjectState::Detached);
    assert!(written.is_expired());
    let mut s = Session::new(engine);
    let fresh = s
        .scalars(&select::<Author>().filter(Author::name.eq("Written")))
        .unwrap()
        .one()
        .unwrap();
    assert_eq!(fresh.read().email, None, "the flush was rolled back");
}

fn detached_objects_are_a_clear_error(engine: &Engine) {
    setup(engine);
    let a = {
        let mut s = Session::new(engine);
        let a = s.add(author("Gone away")).unwrap();
        s.commit().unwrap();
        a
    };
    assert_eq!(a.state(), ObjectState::Detached);
    let mut s = Session::new(engine);
    let err = s.refresh(&a).unwrap_err().to_string();
    assert!(err.contains("detached"), "{err}");
    assert!(s.delete(&a).is_err());
    let transient = Handle::new(author("never added")).unwrap();
    assert!(s
        .expunge(&transient)
        .unwrap_err()
        .to_string()
        .contains("transient"));
    // A detached object can be attached again with add().
    s.add(&a).unwrap();
    a.write().email = Some("back@example.com".into());
    s.commit().unwrap();
    let email: String = engine
        .connect()
        .unwrap()
        .execute(&text("SELECT email FROM authors"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(email, "back@example.com");
}

fn refresh_expire_expunge(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.set_expire_on_commit(false);
    let a = s.add(author("Orig")).unwrap();
    s.commit().unwrap();
    assert!(!a.is_expired());
    a.write().name = "Local".into();
    s.refresh(&a).unwrap();
    assert_eq!(a.read().name, "Orig");
    engine
        .connect()
        .unwrap()
        .execute(&text("UPDATE authors SET name = 'Remote'"))
        .unwrap();
    assert_eq!(
        s.get::<Author>(1).unwrap().unwrap().read().name,
        "Orig",
        "not expired: no reload"
    );
    s.expire(&a).unwrap();
    if engine.dialect().name() == "mysql" {
        // MySQL's default isolation, REPEATABLE READ: the reload reads the session's
        // transaction's snapshot, taken before the other connection's UPDATE. The next
        // transaction sees it.
        assert_eq!(s.get::<Author>(1).unwrap().unwrap().read().name, "Orig");
        s.rollback().unwrap();
    }
    assert_eq!(s.get::<Author>(1).unwrap().unwrap().read().name, "Remote");
    s.expunge(&a).unwrap();
    assert_eq!(a.state(), ObjectState::Detached);
    let b = s.get::<Author>(1).unwrap().unwrap();
    assert!(!Handle::ptr_eq(&a, &b));
}

fn merge_copies_onto_the_persistent_object(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(author("Merged")).unwrap();
    s.commit().unwrap();
    let loaded = s.get::<Author>(1).unwrap().unwrap();
    let copy = Author {
        id: Some(1),
        name: "Merged".into(),
        email: Some("m@example.com".into()),
    };
    let merged = s.merge(&copy).unwrap();
    assert!(Handle::ptr_eq(&loaded, &merged));
    assert_eq!(loaded.read().email.as_deref(), Some("m@example.com"));
    let new = s
        .merge(&Author {
            id: Some(7),
            name: "Seven".into(),
            email: None,
        })
        .unwrap();
    assert_eq!(new.state(), ObjectState::Pending);
    s.commit().unwrap();
    assert_eq!(count(engine, "authors"), 2);
}

fn version_column_detects_lost_updates(engine: &Engine) {
    setup(engine);
    let mut s1 = Session::new(engine);
    s1.add(author("V")).unwrap();
    let b = s1.add(book(1, "Versioned")).unwrap();
    s1.commit().unwrap();
    let mut s2 = Session::new(engine);
    let b1 = s1.get::<Book>(1).unwrap().unwrap();
    let b2 = s2.get::<Book>(1).unwrap().unwrap();
    b1.write().pages = 200;
    s1.commit().unwrap();
    assert_eq!(b.read().version, 2);
    b2.write().pages = 300;
    let err = s2.commit().unwrap_err();
    assert!(matches!(err, strata::orm::Error::StaleData { .. }), "{err}");
    s2.rollback().unwrap();
    let pages: i64 = engine
        .connect()
        .unwrap()
        .execute(&text("SELECT pages FROM books"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(pages, 200);
    // Deleting with a stale version is caught too.
    let stale = s2.get::<Book>(1).unwrap().unwrap();
    engine
        .connect()
        .unwrap()
        .execute(&text("UPDATE books SET version = 9"))
        .unwrap();
    s2.delete(&stale).unwrap();
    assert!(matches!(
        s2.flush().unwrap_err(),
        strata::orm::Error::StaleData { .. }
    ));
}

fn null_version_is_matched_with_is_null(engine: &Engine) {
    setup(engine);
    let mut conn = engine.connect().unwrap();
    conn.execute(&text(
        "INSERT INTO drafts (id, body, rev) VALUES (1, 'one', NULL), (2, 'two', NULL), (3, 'three', NULL)",
    ))
    .unwrap();
    let log = recorder(engine);
    let mut s = Session::new(engine);
    // An UPDATE matches the NULL version with IS NULL and starts the count.
    let one = s.get::<Draft>(1).unwrap().unwrap();
    one.write().body = "one, edited".into();
    s.flush().unwrap();
    let updates: Vec<String> = taken(&log)
        .into_iter()
        .filter(|q| q.starts_with("UPDATE"))
        .collect();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert!(updates[0].contains("IS NULL"), "{}", updates[0]);
    assert_eq!(one.read().rev, Some(1));
    // A DELETE does too.
    let two = s.get::<Draft>(2).unwrap().unwrap();
    s.delete(&two).unwrap();
    s.flush().unwrap();
    let deletes: Vec<String> = taken(&log)
        .into_iter()
        .filter(|q| q.starts_with("DELETE"))
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert!(deletes[0].contains("IS NULL"), "{}", deletes[0]);
    s.commit().unwrap();
    // A row whose version was set behind the session's back is stale, named by its key.
    let three = s.get::<Draft>(3).unwrap().unwrap();
    conn.execute(&text("UPDATE drafts SET rev = 5 WHERE id = 3"))
        .unwrap();
    s.delete(&three).unwrap();
    let err = s.flush().unwrap_err();
    assert!(
        matches!(&err, strata::orm::Error::StaleData { key, .. } if key == "(3)"),
        "{err}"
    );
    s.rollback().unwrap();
    let rows: Vec<(i64, String, Option<i64>)> =
        support::rows(engine, "SELECT id, body, rev FROM drafts ORDER BY id");
    assert_eq!(
        rows,
        [
            (1, "one, edited".to_string(), Some(1)),
            (3, "three".into(), Some(5))
        ]
    );
}

fn objects_that_send_no_column_are_inserted_one_by_one(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let tickets = s
        .add_all((0..3).map(|_| Ticket {
            id: None,
            issued_at: None,
        }))
        .unwrap();
    s.commit().unwrap();
    let ids: Vec<i64> = tickets.iter().map(|t| t.read().id.unwrap()).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert!(tickets.iter().all(|t| t.read().issued_at.is_some()));
    assert_eq!(count(engine, "tickets"), 3);
}

fn changing_the_primary_key_moves_the_object_in_the_identity_map(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let added = s
        .add(ShelfSlot {
            shelf: 1,
            slot: 1,
            label: "a".into(),
        })
        .unwrap();
    s.commit().unwrap();
    // Loaded again after the commit's expiry, then moved to another key.
    let x = s.get::<ShelfSlot>((1, 1)).unwrap().unwrap();
    assert!(Handle::ptr_eq(&added, &x));
    x.write().slot = 2;
    s.flush().unwrap();
    // Found under its new key, without SQL, and no longer under the old one.
    let log = recorder(engine);
    let y = s.get::<ShelfSlot>((1, 2)).unwrap().unwrap();
    assert!(Handle::ptr_eq(&x, &y));
    assert_eq!(taken(&log), Vec::<String>::new());
    assert!(s.get::<ShelfSlot>((1, 1)).unwrap().is_none());
    s.commit().unwrap();
    // After the commit's expiry the reload finds the same object.
    let z = s.get::<ShelfSlot>((1, 2)).unwrap().unwrap();
    assert!(Handle::ptr_eq(&x, &z));
    z.write().label = "b".into();
    s.commit().unwrap();
    let rows: Vec<(i64, i64, String)> =
        support::rows(engine, "SELECT shelf, slot, label FROM shelf_slots");
    assert_eq!(rows, [(1, 2, "b".to_string())]);
    // A rollback puts the object back under the key the database still has.
    z.write().slot = 3;
    s.flush().unwrap();
    assert!(Handle::ptr_eq(
        &s.get::<ShelfSlot>((1, 3)).unwrap().unwrap(),
        &z
    ));
    s.rollback().unwrap();
    assert!(s.get::<ShelfSlot>((1, 3)).unwrap().is_none());
    let back = s.get::<ShelfSlot>((1, 2)).unwrap().unwrap();
    assert!(Handle::ptr_eq(&back, &z));
    assert_eq!(back.read().slot, 2);
}

fn a_new_object_takes_over_the_row_of_one_deleted_in_the_same_flush(engine: &Engine) {
    setup(engine);
    let slot = |label: &str| ShelfSlot {
        shelf: 1,
        slot: 1,
        label: label.into(),
    };
    let mut s = Session::new(engine);
    s.add(slot("old")).unwrap();
    s.add(ShelfSlot {
        shelf: 9,
        slot: 9,
        label: "other".into(),
    })
    .unwrap();
    s.commit().unwrap();
    let old = s.get::<ShelfSlot>((1, 1)).unwrap().unwrap();
    s.delete(&old).unwrap();
    let new = s.add(slot("new")).unwrap();
    let log = recorder(engine);
    s.flush().unwrap();
    // One UPDATE of the row, where an INSERT would meet the row still there.
    let writes: Vec<String> = taken(&log)
        .into_iter()
        .filter(|q| !q.starts_with("SAVEPOINT") && !q.starts_with("RELEASE"))
        .collect();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].starts_with("UPDATE"), "{writes:?}");
    assert_eq!(old.state(), ObjectState::Deleted);
    assert_eq!(new.state(), ObjectState::Persistent);
    assert!(Handle::ptr_eq(
        &s.get::<ShelfSlot>((1, 1)).unwrap().unwrap(),
        &new
    ));
    // A rollback brings the old object back and makes the new one transient.
    s.rollback().unwrap();
    assert_eq!(new.state(), ObjectState::Transient);
    assert_eq!(old.state(), ObjectState::Persistent);
    assert_eq!(
        s.get::<ShelfSlot>((1, 1)).unwrap().unwrap().read().label,
        "old"
    );
    // Committed, the row holds the new object's values.
    s.delete(&old).unwrap();
    let new = s.add(slot("new")).unwrap();
    s.commit().unwrap();
    assert_eq!(old.state(), ObjectState::Detached);
    let rows: Vec<(i64, i64, String)> = support::rows(
        engine,
        "SELECT shelf, slot, label FROM shelf_slots ORDER BY shelf",
    );
    assert_eq!(
        rows,
        [(1, 1, "new".to_string()), (9, 9, "other".to_string())]
    );
    assert!(Handle::ptr_eq(
        &s.get::<ShelfSlot>((1, 1)).unwrap().unwrap(),
        &new
    ));
}

fn expire_and_rollback_drop_unflushed_changes(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(author("Kept")).unwrap();
    s.commit().unwrap();
    let a = s.get::<Author>(1).unwrap().unwrap();
    // Expired, the change is dropped: the commit writes nothing.
    a.write().name = "Lost".into();
    s.expire(&a).unwrap();
    assert_eq!(a.read().name, "Kept");
    s.commit().unwrap();
    let name = |s: &mut Session| s.get::<Author>(1).unwrap().unwrap().read().name.clone();
    assert_eq!(name(&mut s), "Kept");
    // Rolled back, the change is dropped too, and a later change to another column
    // does not bring it back.
    a.write().name = "Lost".into();
    s.rollback().unwrap();
    a.write().email = Some("k@example.com".into());
    s.commit().unwrap();
    assert_eq!(name(&mut s), "Kept");
    let email: Option<String> = engine
        .connect()
        .unwrap()
        .execute(&text("SELECT email FROM authors"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(email.as_deref(), Some("k@example.com"));
}

/// A change flushed and then rolled back leaves the object with the values its row has
/// again, so that writing the same change once more is a change (found by the unit of
/// work's model test: the second write compared equal to the rolled-back values and
/// was lost).
fn rollback_gives_flushed_objects_their_rows_values_back(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(author("Before")).unwrap();
    s.commit().unwrap();
    let a = s.get::<Author>(1).unwrap().unwrap();
    a.write().name = "Flushed".into();
    s.flush().unwrap();
    a.write().name = "Flushed twice".into();
    s.flush().unwrap();
    s.rollback().unwrap();
    // The values of before the transaction, without a load.
    assert_eq!(a.read().name, "Before");
    a.write().name = "Flushed".into();
    s.commit().unwrap();
    let name: String = engine
        .connect()
        .unwrap()
        .execute(&text("SELECT name FROM authors"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(name, "Flushed");
}

/// A key deleted in a flush and given to a new object in a later one is the new
/// object's: once expired, `get` and `merge` load and give it (found by the unit of
/// work's model test: they answered "deleted", SQLite having given the key again).
fn a_key_given_again_after_a_delete_is_the_new_objects(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(author("Old")).unwrap();
    s.commit().unwrap();
    let old = s.get::<Author>(1).unwrap().unwrap();
    s.delete(&old).unwrap();
    s.flush().unwrap();
    let new = s
        .add(Author {
            id: Some(1),
            ..author("New")
        })
        .unwrap();
    s.flush().unwrap();
    s.expire(&new).unwrap();
    let got = s
        .get::<Author>(1)
        .unwrap()
        .expect("row 1 is the new object's");
    assert!(Handle::ptr_eq(&got, &new));
    s.expire(&new).unwrap();
    let merged = s
        .merge(&Author {
            id: Some(1),
            ..author("Merged")
        })
        .unwrap();
    assert!(Handle::ptr_eq(&merged, &new));
    s.commit().unwrap();
    assert_eq!(author_names(engine), ["Merged"]);
    assert_eq!(old.state(), ObjectState::Detached);
}

fn adding_an_object_marked_for_deletion_takes_the_mark_back(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add_all([author("Stays"), author("Goes")]).unwrap();
    s.commit().unwrap();
    let stays = s.get::<Author>(1).unwrap().unwrap();
    s.delete(&stays).unwrap();
    s.add(&stays).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "authors"), 2);
    assert_eq!(stays.state(), ObjectState::Persistent);
    // Once its DELETE is flushed, adding it back is an error until the transaction ends.
    let goes = s.get::<Author>(2).unwrap().unwrap();
    s.delete(&goes).unwrap();
    s.flush().unwrap();
    let err = s.add(&goes).unwrap_err();
    assert!(err.to_string().contains("was deleted"), "{err}");
    s.commit().unwrap();
    assert_eq!(count(engine, "authors"), 1);
}

fn validation_aborts_the_flush(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(author("W")).unwrap();
    s.add(book(1, "   ")).unwrap();
    let err = s.commit().unwrap_err();
    assert!(
        matches!(err, strata::orm::Error::Validation { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("a book needs a title"));
    assert_eq!(count(engine, "authors"), 0);
}

fn core_and_orm_give_the_same_results(engine: &Engine) {
    let reg = setup(engine);
    let mut s = Session::new(engine);
    s.add_all(["Alice", "Bob", "Carol"].map(author)).unwrap();
    s.commit().unwrap();
    let authors = reg.metadata().table("authors").unwrap().clone();
    // Core level.
    let core_names: Vec<String> = engine
        .connect()
        .unwrap()
        .execute(
            &strata::select(authors.c("name"))
                .where_(authors.c("name").ne("Bob"))
                .order_by([authors.c("name")]),
        )
        .unwrap()
        .scalars()
        .unwrap();
    // ORM level, same query.
    let orm: Vec<String> = s
        .scalars(
            &select::<Author>()
                .filter(Author::name.ne("Bob"))
                .order_by([Author::name.asc()]),
        )
        .unwrap()
        .all()
        .iter()
        .map(|a| a.read().name.clone())
        .collect();
    assert_eq!(core_names, orm);
    // Core rows loaded as objects join the identity map.
    let alice = s.get::<Author>(1).unwrap().unwrap();
    let from_core = s
        .scalars_from::<Author>(&strata::select(&authors).where_(authors.c("id").eq(1)))
        .unwrap()
        .one()
        .unwrap();
    assert!(Handle::ptr_eq(&alice, &from_core));
    // Result columns are matched by name, in any order; a missing one is an error.
    let mut reversed = authors.all_columns();
    reversed.reverse();
    let by_name = s
        .scalars_from::<Author>(&strata::select(reversed).where_(authors.c("id").eq(1)))
        .unwrap()
        .one()
        .unwrap();
    assert!(Handle::ptr_eq(&alice, &by_name));
    let err = s
        .scalars_from::<Author>(&strata::select(authors.c("id")))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("no column"), "{err}");
    // Core statements run in the session's transaction, after autoflush.
    s.add(author("Dave")).unwrap();
    let n: i64 = s
        .execute(&strata::select(func::count_star()).select_from(&authors))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(n, 4);
    s.execute(&update(&authors).set("email", "x@example.com"))
        .unwrap();
    s.execute(&insert(&authors).value("name", "Eve")).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "authors"), 5);
}

fn legacy_query_api(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add_all(["Zed", "Amy", "Kim"].map(author)).unwrap();
    s.commit().unwrap();
    let all = s.query::<Author>().all().unwrap();
    assert_eq!(all.len(), 3);
    let first = s
        .query::<Author>()
        .order_by([Author::name.asc()])
        .first()
        .unwrap()
        .unwrap();
    assert_eq!(first.read().name, "Amy");
    assert_eq!(
        s.query::<Author>()
            .filter(Author::name.startswith("K"))
            .count()
            .unwrap(),
        1
    );
    assert!(s.query::<Author>().get(2).unwrap().is_some());
    assert!(s.query::<Author>().one().is_err());
}

fn composite_primary_key(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(ShelfSlot {
        shelf: 1,
        slot: 2,
        label: "a".into(),
    })
    .unwrap();
    s.add(ShelfSlot {
        shelf: 2,
        slot: 1,
        label: "b".into(),
    })
    .unwrap();
    s.commit().unwrap();
    let x = s.get::<ShelfSlot>((1, 2)).unwrap().unwrap();
    assert_eq!(x.read().label, "a");
    assert!(s.get::<ShelfSlot>((2, 2)).unwrap().is_none());
    assert!(
        s.get::<ShelfSlot>(1).is_err(),
        "one value for a two-column key is an error"
    );
    x.write().label = "c".into();
    s.commit().unwrap();
    assert_eq!(
        s.get::<ShelfSlot>((1, 2)).unwrap().unwrap().read().label,
        "c"
    );

    // One DELETE per object (run together); a row gone behind the session's back
    // is stale data, named, and nothing of the flush stays.
    s.add(ShelfSlot {
        shelf: 3,
        slot: 3,
        label: "d".into(),
    })
    .unwrap();
    s.commit().unwrap();
    let slots = s.scalars(&select::<ShelfSlot>()).unwrap().all();
    assert_eq!(slots.len(), 3);
    engine
        .connect()
        .unwrap()
        .execute(&text("DELETE FROM shelf_slots WHERE shelf = 2"))
        .unwrap();
    for slot in &slots {
        s.delete(slot).unwrap();
    }
    match s.flush().unwrap_err() {
        strata::orm::Error::StaleData {
            key,
            statement,
            matched,
            ..
        } => assert_eq!(
            (key.as_str(), statement.as_str(), matched),
            ("(2, 1)", "DELETE", 0)
        ),
        other => panic!("expected StaleData, got {other}"),
    }
    s.rollback().unwrap();
    assert_eq!(count(engine, "shelf_slots"), 2);
    for key in [(1, 2), (3, 3)] {
        let slot = s.get::<ShelfSlot>(key).unwrap().unwrap();
        s.delete(&slot).unwrap();
    }
    s.commit().unwrap();
    assert_eq!(count(engine, "shelf_slots"), 0);
}

fn server_defaults_and_onupdate_are_read_back(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.set_expire_on_commit(false);
    let st = s
        .add(Stamped {
            id: None,
            note: "n".into(),
            created_at: None,
            touches: None,
        })
        .unwrap();
    s.commit().unwrap();
    assert!(
        st.read().created_at.is_some(),
        "server default read back: {:?}",
        st.read()
    );
    st.write().note = "m".into();
    s.commit().unwrap();
    assert_eq!(st.read().touches, Some(7));
    let v: Value = engine
        .connect()
        .unwrap()
        .execute(&text("SELECT touches FROM stamped"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(v.to_string(), "7");
}

fn gets_of_models_in_turn_each_send_their_own_select(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let a = s.add_all([author("Ann"), author("Bob")]).unwrap();
    s.commit().unwrap();
    let b = s.add(book(a[1].read().id.unwrap(), "Two")).unwrap();
    s.commit().unwrap();
    let (ann, bob, two) = (
        a[0].read().id.unwrap(),
        a[1].read().id.unwrap(),
        b.read().id.unwrap(),
    );
    drop((a, b));
    let log = recorder(engine);
    // A fresh session: every get below is a SELECT, alternating between models, so
    // the statement text kept from the last get must follow the model.
    let mut s = Session::new(engine);
    assert_eq!(s.get::<Author>(ann).unwrap().unwrap().read().name, "Ann");
    assert_eq!(s.get::<Book>(two).unwrap().unwrap().read().title, "Two");
    assert_eq!(s.get::<Author>(bob).unwrap().unwrap().read().name, "Bob");
    assert!(s.get::<Book>(two + 1).unwrap().is_none());
    let selects: Vec<String> = taken(&log)
        .into_iter()
        .filter(|q| q.starts_with("SELECT"))
        .collect();
    let from = |table: &str| format!("FROM {}", quoted(engine, table));
    let tables: Vec<&str> = selects
        .iter()
        .map(|q| {
            if q.contains(&from("books")) {
                "books"
            } else if q.contains(&from("authors")) {
                "authors"
            } else {
                "other"
            }
        })
        .collect();
    assert_eq!(
        tables,
        ["authors", "books", "authors", "books"],
        "{selects:?}"
    );
}
