//! Relationships: every kind, cascade and loading strategy, on SQLite, PostgreSQL and
//! MySQL (MariaDB).

#[allow(dead_code)]
#[macro_use]
mod support;

use std::sync::{Arc, Mutex};

use strata::orm::{
    joinedload, raiseload, select, selectinload, Handle, Load, Many, Model, ObjectState, One,
    Registry, Session,
};
use strata::{insert, text, Column, Engine, ForeignKey, ReferentialAction, SqlType, Table};

// --- one-to-many / many-to-one, as in seed 000 ------------------------------------

#[derive(Model, Debug, Clone)]
#[model(table = "r_users")]
struct User {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
    #[relationship(
        back_populates = "user",
        cascade = "all, delete-orphan",
        order_by = "title"
    )]
    tasks: Many<UserTask>,
    #[relationship(back_populates = "owner", lazy = "raise")]
    profile: One<Profile>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "r_user_tasks")]
struct UserTask {
    #[column(primary_key)]
    id: Option<i64>,
    title: String,
    #[column(foreign_key = "r_users.id")]
    user_id: Option<i64>,
    #[relationship(back_populates = "tasks")]
    user: One<User>,
    #[relationship(back_populates = "task", cascade = "save-update")]
    notes: Many<Note>,
}

/// Notes hang off tasks and have no cascade from them: deleting a task with notes fails.
#[derive(Model, Debug, Clone)]
#[model(table = "r_notes")]
struct Note {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(foreign_key = "r_user_tasks.id")]
    task_id: i64,
    body: String,
    #[relationship(back_populates = "notes")]
    task: One<UserTask>,
}

// --- one-to-one ------------------------------------------------------------------

#[derive(Model, Debug, Clone)]
#[model(table = "r_profiles")]
struct Profile {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(foreign_key = "r_users.id", unique)]
    user_id: Option<i64>,
    bio: String,
    #[relationship(back_populates = "profile")]
    owner: One<User>,
}

/// One-to-one with delete-orphan: a passport removed from its citizen is deleted.
/// (Its foreign key is not unique: the replacement's INSERT runs before the orphan's
/// DELETE, as in SQLAlchemy, so a unique key would refuse it.)
#[derive(Model, Debug, Clone)]
#[model(table = "r_citizens")]
struct Citizen {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
    #[relationship(back_populates = "holder", cascade = "all, delete-orphan")]
    passport: One<Passport>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "r_passports")]
struct Passport {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(foreign_key = "r_citizens.id")]
    citizen_id: Option<i64>,
    number: String,
    #[relationship(back_populates = "passport")]
    holder: One<Citizen>,
}

// --- no cascade: children keep living with a NULL key; passive deletes ------------

#[derive(Model, Debug, Clone)]
#[model(table = "r_teams")]
struct Team {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
    #[relationship(back_populates = "team")]
    members: Many<Member>,
    #[relationship(passive_deletes)]
    logs: Many<TeamLog>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "r_members")]
struct Member {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(foreign_key = "r_teams.id")]
    team_id: Option<i64>,
    name: String,
    #[relationship(back_populates = "members")]
    team: One<Team>,
}

/// Its table is created with ON DELETE CASCADE (see `team_logs_table`).
#[derive(Model, Debug, Clone)]
#[model(table = "r_team_logs")]
struct TeamLog {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(foreign_key = "r_teams.id")]
    team_id: i64,
    line: String,
}

// --- many-to-many --------------------------------------------------------------------

fn student_courses() -> Table {
    Table::build("r_student_courses")
        .column(
            Column::new("student_id", SqlType::BigInteger)
                .primary_key()
                .foreign_key("r_students.id"),
        )
        .column(
            Column::new("course_id", SqlType::BigInteger)
                .primary_key()
                .foreign_key("r_courses.id"),
        )
        .finish()
        .expect("valid association table")
}

/// Who follows whom: an association table with two foreign keys to one table.
fn follows() -> Table {
    Table::build("r_follows")
        .column(
            Column::new("follower_id", SqlType::BigInteger)
                .primary_key()
                .foreign_key("r_people.id"),
        )
        .column(
            Column::new("followed_id", SqlType::BigInteger)
                .primary_key()
                .foreign_key("r_people.id"),
        )
        .finish()
        .expect("valid association table")
}

/// A self-referential many-to-many relationship (the first foreign key is this side).
#[derive(Model, Debug, Clone)]
#[model(table = "r_people")]
struct Person {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
    #[relationship(secondary = follows, order_by = "name")]
    following: Many<Person>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "r_students")]
struct Student {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
    #[relationship(secondary = student_courses, back_populates = "students", order_by = "title")]
    courses: Many<Course>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "r_courses")]
struct Course {
    #[column(primary_key)]
    id: Option<i64>,
    title: String,
    #[relationship(secondary = student_courses, back_populates = "courses")]
    students: Many<Student>,
}

// --- self-referential tree -----------------------------------------------------------

#[derive(Model, Debug, Clone)]
#[model(table = "r_categories")]
struct Category {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
    #[column(foreign_key = "r_categories.id")]
    parent_id: Option<i64>,
    #[relationship(back_populates = "children")]
    parent: One<Category>,
    #[relationship(back_populates = "parent", cascade = "all", order_by = "name")]
    children: Many<Category>,
}

fn registry() -> Registry {
    let r = Registry::new();
    let r = r
        .map::<User>()
        .unwrap()
        .map::<UserTask>()
        .unwrap()
        .map::<Note>()
        .unwrap()
        .map::<Profile>()
        .unwrap()
        .map::<Citizen>()
        .unwrap()
        .map::<Passport>()
        .unwrap();
    let r = r
        .map::<Team>()
        .unwrap()
        .map::<Member>()
        .unwrap()
        .map::<TeamLog>()
        .unwrap();
    let r = r
        .map::<Student>()
        .unwrap()
        .map::<Course>()
        .unwrap()
        .map::<Category>()
        .unwrap()
        .map::<Person>()
        .unwrap();
    r.configure().unwrap()
}

fn setup(engine: &Engine) -> Registry {
    let r = registry();
    let mut md = r.metadata().clone();
    md.add_table(student_courses()).unwrap();
    md.add_table(follows()).unwrap();
    // The log table with ON DELETE CASCADE, created by hand (passive deletes rely on it).
    let logs = Table::build("r_team_logs")
        .column(Column::new("id", SqlType::BigInteger).primary_key())
        .column(Column::new("team_id", SqlType::BigInteger).not_null())
        .column(Column::new("line", SqlType::Text).not_null())
        .foreign_key(
            ForeignKey::new(["team_id"], "r_teams", ["id"]).on_delete(ReferentialAction::Cascade),
        )
        .finish()
        .unwrap();
    let mut md2 = strata::MetaData::new();
    for t in md.tables() {
        if t.name() == "r_team_logs" {
            md2.add_table(logs.clone()).unwrap();
        } else {
            md2.add_table(t.clone()).unwrap();
        }
    }
    md2.drop_all(engine).unwrap();
    md2.create_all(engine).unwrap();
    r
}

fn selects(engine: &Engine) -> Arc<Mutex<Vec<String>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    engine.on_execute(move |sql, _| {
        if sql.starts_with("SELECT") || sql.starts_with("WITH") {
            l.lock().unwrap().push(sql.to_string())
        }
    });
    log
}

/// Records the INSERT and DELETE statements that write `table`.
fn writes_to(engine: &Engine, table: &'static str) -> Arc<Mutex<Vec<String>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    engine.on_execute(move |sql, _| {
        let writes = sql.starts_with("INSERT") || sql.starts_with("DELETE");
        // Quoted as SQLite and PostgreSQL quote it, or as MySQL does.
        let quoted = [format!("\"{table}\""), format!("`{table}`")];
        if writes && quoted.iter().any(|q| sql.contains(q.as_str())) {
            l.lock().unwrap().push(sql.to_string())
        }
    });
    log
}

fn drain(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

fn count(engine: &Engine, sql: &str) -> i64 {
    engine
        .connect()
        .unwrap()
        .execute(&text(sql))
        .unwrap()
        .scalar_one()
        .unwrap()
}

fn user(name: &str) -> User {
    User {
        id: None,
        name: name.into(),
        tasks: Many::new(),
        profile: One::new(),
    }
}

fn task(title: &str, user_id: Option<i64>) -> UserTask {
    UserTask {
        id: None,
        title: title.into(),
        user_id,
        user: One::new(),
        notes: Many::new(),
    }
}

on_all!(
    crate::support::plain;
    seed_lazy_load_through_the_session,
    unloaded_relationship_is_an_error_not_a_query,
    back_populates_keeps_both_sides_in_step,
    new_parent_with_new_children_is_inserted_parent_first,
    moving_a_child_to_another_parent,
    delete_cascades_to_children,
    delete_orphan_deletes_removed_children,
    delete_orphan_spares_a_child_moved_to_another_parent,
    delete_orphan_of_a_child_with_dependants_fails_atomically,
    without_delete_cascade_children_get_a_null_key,
    passive_deletes_leave_children_to_the_database,
    one_to_one,
    one_to_one_with_delete_orphan,
    self_referential_many_to_many_keeps_rows_of_both_directions,
    relationships_loaded_after_an_expiry_survive_the_refresh,
    selectin_joined_and_lazy_statement_counts,
    raise_strategy_and_raiseload,
    nested_loader_options,
    joined_many_to_one,
    selectin_chunks_large_key_sets,
    selectin_with_repeated_parents,
    relationship_order_by,
    joined_many_to_many_in_one_statement,
    joined_with_limit_and_offset_counts_parents,
    nested_joined_loads_in_one_statement,
    joined_loads_below_a_selectin_load_join_its_query,
    a_new_child_of_a_parent_deleted_before_the_flush_is_never_inserted,
    deleting_a_new_parent_deletes_the_children_it_holds,
    a_child_moved_and_taken_out_is_an_orphan,
    deleting_a_parent_spares_a_child_moved_away_in_memory,
    a_rollback_gives_a_moved_child_its_parent_back,
    eager_loads_keep_collections_changed_in_memory,
    cascaded_objects_are_inserted_after_the_object_that_brought_them,
    a_live_write_guard_is_an_error_not_a_wait,
    appending_to_a_large_collection_keeps_each_object_once,
    self_referential_inserts_follow_their_parents_and_refuse_cycles,
    many_to_many_through_an_association_table,
    self_referential_tree,
    a_delete_cascade_loads_each_level_of_children_together,
    deleting_more_objects_than_one_statement_takes,
    merge_cascades_along_relationships,
    merge_of_a_new_graph_adds_all_of_it,
    merge_leaves_relationships_nobody_set_alone,
    expunge_and_expire_cascade,
);

fn seed_lazy_load_through_the_session(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let anna = s.add(user("Anna")).unwrap();
    s.add_all([task("Learn Python", Some(1)), task("Write code", Some(1))])
        .unwrap();
    s.commit().unwrap();
    let tasks = s.load(&anna, User::tasks).unwrap();
    assert_eq!(anna.read().name, "Anna");
    assert_eq!(tasks.len(), 2);
    let titles: Vec<String> = tasks.iter().map(|t| t.read().title.clone()).collect();
    assert_eq!(titles, ["Learn Python", "Write code"]);
    // The field is now loaded and readable without the session.
    assert_eq!(anna.read().tasks.len().unwrap(), 2);
    // back_populates: each task points at Anna.
    let t0 = tasks[0].read().user.get().unwrap().unwrap();
    assert!(Handle::ptr_eq(&t0, &anna));
}

fn unloaded_relationship_is_an_error_not_a_query(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(user("U")).unwrap();
    s.commit().unwrap();
    let log = selects(engine);
    let u = s.get::<User>(1).unwrap().unwrap();
    drain(&log);
    let err = u.read().tasks.get().unwrap_err().to_string();
    assert!(
        err.starts_with("invalid request: relationship \"tasks\" (to UserTask) is not loaded")
            && err.contains("session"),
        "{err}"
    );
    // A reference too, after an expiry.
    let t = s.add(task("T", Some(1))).unwrap();
    s.commit().unwrap();
    let err = t.read().user.get().unwrap_err().to_string();
    assert!(err.contains("relationship \"user\" (to User)"), "{err}");
    drain(&log);
    let _ = u.read().tasks.get();
    assert!(drain(&log).is_empty(), "reading a field sent no SQL");
    s.close().unwrap();
    let err = s.load(&u, User::tasks).unwrap_err().to_string();
    assert!(err.contains("detached"), "{err}");
}

fn back_populates_keeps_both_sides_in_step(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let u = s.add(user("U")).unwrap();
    let t = Handle::new(task("T", None)).unwrap();
    s.load(&u, User::tasks).unwrap();
    u.append(User::tasks, &t).unwrap();
    assert!(Handle::ptr_eq(&t.read().user.get().unwrap().unwrap(), &u));
    let t2 = Handle::new(task("T2", None)).unwrap();
    t2.set_ref(UserTask::user, Some(&u)).unwrap();
    assert_eq!(u.read().tasks.len().unwrap(), 2);
    u.remove_from(User::tasks, &t2).unwrap();
    assert!(t2.read().user.get().unwrap().is_none());
    assert_eq!(u.read().tasks.len().unwrap(), 1);
}

fn new_parent_with_new_children_is_inserted_parent_first(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let u = Handle::new(user("Parent")).unwrap();
    let a = Handle::new(task("a", None)).unwrap();
    let b = Handle::new(task("b", None)).unwrap();
    u.append(User::tasks, &a).unwrap();
    u.append(User::tasks, &b).unwrap();
    s.add(&u).unwrap(); // save-update cascade adds the tasks
    s.flush().unwrap();
    assert_eq!(a.state(), ObjectState::Persistent);
    let uid = u.read().id.unwrap();
    assert_eq!(a.read().user_id, Some(uid));
    assert_eq!(b.read().user_id, Some(uid));
    s.commit().unwrap();
    assert_eq!(
        count(
            engine,
            "SELECT count(*) FROM r_user_tasks WHERE user_id IS NOT NULL"
        ),
        2
    );
}

fn moving_a_child_to_another_parent(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let u1 = s.add(user("one")).unwrap();
    let u2 = s.add(user("two")).unwrap();
    s.flush().unwrap();
    let t = Handle::new(task("t", None)).unwrap();
    u1.append(User::tasks, &t).unwrap();
    s.commit().unwrap();
    let t = s.get::<UserTask>(1).unwrap().unwrap();
    let u2 = s.get::<User>(u2.read().id.unwrap()).unwrap().unwrap();
    t.set_ref(UserTask::user, Some(&u2)).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT user_id FROM r_user_tasks"), 2);
    let _ = u1;
}

fn delete_cascades_to_children(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let u = s.add(user("U")).unwrap();
    s.add_all([task("a", Some(1)), task("b", Some(1))]).unwrap();
    s.add(user("Other")).unwrap();
    s.add(task("c", Some(2))).unwrap();
    s.commit().unwrap();
    let u = s.get::<User>(u.read().id.unwrap()).unwrap().unwrap();
    s.delete(&u).unwrap(); // the tasks are loaded and deleted first
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 1);
    assert_eq!(count(engine, "SELECT count(*) FROM r_users"), 1);
}

fn delete_orphan_deletes_removed_children(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let u = s.add(user("U")).unwrap();
    s.add_all([task("keep", Some(1)), task("drop", Some(1))])
        .unwrap();
    s.commit().unwrap();
    let tasks = s.load(&u, User::tasks).unwrap();
    let dropped = tasks
        .iter()
        .find(|t| t.read().title == "drop")
        .unwrap()
        .clone();
    u.remove_from(User::tasks, &dropped).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 1);
    assert_eq!(dropped.state(), ObjectState::Detached);
}

fn delete_orphan_spares_a_child_moved_to_another_parent(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let a = s.add(user("A")).unwrap();
    let b = s.add(user("B")).unwrap();
    s.add(task("moves", Some(1))).unwrap();
    s.commit().unwrap();
    let moved = s.load(&a, User::tasks).unwrap()[0].clone();
    s.load(&b, User::tasks).unwrap();
    s.load(&moved, UserTask::user).unwrap();
    a.remove_from(User::tasks, &moved).unwrap();
    b.append(User::tasks, &moved).unwrap();
    s.commit().unwrap();
    // Not an orphan: it has a new parent through the same relationship.
    assert_eq!(moved.state(), ObjectState::Persistent);
    let owner: i64 = engine
        .connect()
        .unwrap()
        .execute(&text(
            "SELECT user_id FROM r_user_tasks WHERE title = 'moves'",
        ))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(Some(owner), b.read().id);
    // Removed without a new parent, it is an orphan again.
    let moved = s.load(&b, User::tasks).unwrap()[0].clone();
    b.remove_from(User::tasks, &moved).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 0);
}

fn delete_orphan_of_a_child_with_dependants_fails_atomically(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let u = s.add(user("U")).unwrap();
    s.add_all([task("with notes", Some(1)), task("plain", Some(1))])
        .unwrap();
    s.flush().unwrap();
    s.add(Note {
        id: None,
        task_id: 1,
        body: "n".into(),
        task: One::new(),
    })
    .unwrap();
    s.commit().unwrap();
    let tasks = s.load(&u, User::tasks).unwrap();
    let with_notes = tasks
        .iter()
        .find(|t| t.read().title == "with notes")
        .unwrap()
        .clone();
    let plain = tasks
        .iter()
        .find(|t| t.read().title == "plain")
        .unwrap()
        .clone();
    u.remove_from(User::tasks, &with_notes).unwrap();
    plain.write().title = "plain, renamed".into();
    // The orphan has a note whose key cannot be NULL: the flush fails as a whole.
    let err = s.flush().unwrap_err();
    assert!(
        err.db_kind() == Some(strata::DbErrorKind::IntegrityError),
        "{err}"
    );
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 2);
    assert_eq!(with_notes.state(), ObjectState::Persistent);
    assert_eq!(
        plain.read().title,
        "plain, renamed",
        "the pending change is kept"
    );
    assert!(plain.is_modified());
}

fn without_delete_cascade_children_get_a_null_key(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let team = s
        .add(Team {
            id: None,
            name: "t".into(),
            members: Many::new(),
            logs: Many::new(),
        })
        .unwrap();
    s.flush().unwrap();
    let tid = team.read().id;
    s.add(Member {
        id: None,
        team_id: tid,
        name: "m".into(),
        team: One::new(),
    })
    .unwrap();
    s.commit().unwrap();
    let team = s.get::<Team>(tid.unwrap()).unwrap().unwrap();
    s.delete(&team).unwrap();
    s.commit().unwrap();
    assert_eq!(
        count(
            engine,
            "SELECT count(*) FROM r_members WHERE team_id IS NULL"
        ),
        1
    );
}

fn passive_deletes_leave_children_to_the_database(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let team = s
        .add(Team {
            id: None,
            name: "t".into(),
            members: Many::new(),
            logs: Many::new(),
        })
        .unwrap();
    s.flush().unwrap();
    let tid = team.read().id.unwrap();
    s.add_all((0..3).map(|i| TeamLog {
        id: None,
        team_id: tid,
        line: format!("l{i}"),
    }))
    .unwrap();
    s.commit().unwrap();
    let team = s.get::<Team>(tid).unwrap().unwrap();
    let log = selects(engine);
    s.delete(&team).unwrap();
    s.commit().unwrap();
    let sel = drain(&log);
    assert!(
        !sel.iter().any(|q| q.contains("r_team_logs")),
        "logs were not loaded: {sel:?}"
    );
    assert_eq!(count(engine, "SELECT count(*) FROM r_team_logs"), 0);
}

fn one_to_one(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let u = s.add(user("U")).unwrap();
    let p = Handle::new(Profile {
        id: None,
        user_id: None,
        bio: "hi".into(),
        owner: One::new(),
    })
    .unwrap();
    p.set_ref(Profile::owner, Some(&u)).unwrap();
    s.add(&p).unwrap();
    s.commit().unwrap();
    assert_eq!(p.read().user_id, u.read().id);
    let p2 = s.get::<Profile>(1).unwrap().unwrap();
    let owner = s.load(&p2, Profile::owner).unwrap().unwrap();
    assert!(Handle::ptr_eq(&owner, &u));
    // A new profile replaces it: the old one gives up the unique key (its UPDATE runs
    // before the INSERT, as in SQLAlchemy) and keeps living without an owner.
    let u = s
        .scalars(&select::<User>().options(selectinload(User::profile)))
        .unwrap()
        .all()
        .remove(0);
    let p3 = Handle::new(Profile {
        id: None,
        user_id: None,
        bio: "new".into(),
        owner: One::new(),
    })
    .unwrap();
    u.set_ref(User::profile, Some(&p3)).unwrap();
    s.commit().unwrap();
    let profiles: Vec<(i64, Option<i64>, String)> = support::rows(
        engine,
        "SELECT id, user_id, bio FROM r_profiles ORDER BY id",
    );
    let uid = u.read().id;
    assert_eq!(
        profiles,
        [(1, None, "hi".to_string()), (2, uid, "new".to_string())]
    );
}

fn passport(number: &str) -> Handle<Passport> {
    Handle::new(Passport {
        id: None,
        citizen_id: None,
        number: number.into(),
        holder: One::new(),
    })
    .unwrap()
}

fn one_to_one_with_delete_orphan(engine: &Engine) {
    setup(engine);
    let passports = |engine: &Engine| -> Vec<(String, Option<i64>)> {
        support::rows(
            engine,
            "SELECT number, citizen_id FROM r_passports ORDER BY id",
        )
    };
    let mut s = Session::new(engine);
    let c = s
        .add(Citizen {
            id: None,
            name: "Ann".into(),
            passport: One::new(),
        })
        .unwrap();
    let first = passport("A1");
    c.set_ref(Citizen::passport, Some(&first)).unwrap();
    s.commit().unwrap(); // the save-update cascade adds the passport
    let id = c.read().id;
    assert_eq!(passports(engine), [("A1".to_string(), id)]);
    // A new passport replaces it: the old one is an orphan and is deleted.
    s.load(&c, Citizen::passport).unwrap();
    let second = passport("A2");
    c.set_ref(Citizen::passport, Some(&second)).unwrap();
    s.commit().unwrap();
    assert_eq!(passports(engine), [("A2".to_string(), id)]);
    assert_eq!(first.state(), ObjectState::Detached);
    // Taking the passport away deletes it too.
    s.load(&c, Citizen::passport).unwrap();
    c.set_ref(Citizen::passport, None).unwrap();
    s.commit().unwrap();
    assert!(passports(engine).is_empty());
    // Deleting the citizen deletes its passport (the delete cascade).
    let third = passport("A3");
    s.load(&c, Citizen::passport).unwrap();
    c.set_ref(Citizen::passport, Some(&third)).unwrap();
    s.commit().unwrap();
    s.delete(&c).unwrap();
    s.commit().unwrap();
    assert!(passports(engine).is_empty());
    assert_eq!(count(engine, "SELECT count(*) FROM r_citizens"), 0);
}

/// A delete-orphan cascade on a many-to-one or many-to-many link is a mapping error
/// when the registry is configured: its target may have other parents.
#[derive(Model, Debug, Clone)]
#[model(table = "r_visas")]
struct Visa {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(foreign_key = "r_citizens.id")]
    citizen_id: Option<i64>,
    #[relationship(cascade = "all, delete-orphan")]
    citizen: One<Citizen>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "r_clubs")]
struct Club {
    #[column(primary_key)]
    id: Option<i64>,
    #[relationship(secondary = club_members, cascade = "delete-orphan")]
    members: Many<Student>,
}

fn club_members() -> Table {
    Table::build("r_club_members")
        .column(Column::new("club_id", SqlType::BigInteger).foreign_key("r_clubs.id"))
        .column(Column::new("student_id", SqlType::BigInteger).foreign_key("r_students.id"))
        .finish()
        .expect("valid association table")
}

/// No foreign key links these two tables.
#[derive(Model, Debug, Clone)]
#[model(table = "r_shelves")]
struct Shelf {
    #[column(primary_key)]
    id: Option<i64>,
    #[relationship]
    crates: Many<Crate>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "r_crates")]
struct Crate {
    #[column(primary_key)]
    id: Option<i64>,
    shelf_id: Option<i64>,
}

/// `back_populates` names a relationship that `Drawer` does not have.
#[derive(Model, Debug, Clone)]
#[model(table = "r_desks")]
struct Desk {
    #[column(primary_key)]
    id: Option<i64>,
    #[relationship(back_populates = "desk")]
    drawers: Many<Drawer>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "r_drawers")]
struct Drawer {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(foreign_key = "r_desks.id")]
    desk_id: Option<i64>,
}

/// `back_populates` names `Cap::owner`, a relationship to `Citizen`, not to `Pen`.
#[derive(Model, Debug, Clone)]
#[model(table = "r_pens")]
struct Pen {
    #[column(primary_key)]
    id: Option<i64>,
    #[relationship(back_populates = "owner")]
    caps: Many<Cap>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "r_caps")]
struct Cap {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(foreign_key = "r_pens.id")]
    pen_id: Option<i64>,
    #[column(foreign_key = "r_citizens.id")]
    citizen_id: Option<i64>,
    #[relationship]
    owner: One<Citizen>,
}

/// The two sides name each other but follow different foreign keys.
#[derive(Model, Debug, Clone)]
#[model(table = "r_writers")]
struct Writer {
    #[column(primary_key)]
    id: Option<i64>,
    #[relationship(foreign_key = "from_id", back_populates = "recipient")]
    sent: Many<Letter>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "r_letters")]
struct Letter {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(foreign_key = "r_writers.id")]
    from_id: Option<i64>,
    #[column(foreign_key = "r_writers.id")]
    to_id: Option<i64>,
    #[relationship(foreign_key = "to_id", back_populates = "sent")]
    recipient: One<Writer>,
}

#[test]
fn relationship_mapping_errors_are_reported_by_configure() {
    // configure() resolves every relationship, before any session uses one.
    let err = Registry::new()
        .map::<Shelf>()
        .unwrap()
        .map::<Crate>()
        .unwrap()
        .configure()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Shelf") && err.contains("crates") && err.contains("no foreign key"),
        "{err}"
    );
    let err = Registry::new()
        .map::<Desk>()
        .unwrap()
        .map::<Drawer>()
        .unwrap()
        .configure()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Desk") && err.contains("back_populates") && err.contains("Drawer"),
        "{err}"
    );
    // back_populates must lead back to this model...
    let err = Registry::new()
        .map::<Citizen>()
        .unwrap()
        .map::<Passport>()
        .unwrap()
        .map::<Pen>()
        .unwrap()
        .map::<Cap>()
        .unwrap()
        .configure()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Pen") && err.contains("\"owner\"") && err.contains("not to Pen"),
        "{err}"
    );
    // ...through the same foreign key.
    let err = Registry::new()
        .map::<Writer>()
        .unwrap()
        .map::<Letter>()
        .unwrap()
        .configure()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Writer") && err.contains("same foreign key"),
        "{err}"
    );
}

#[test]
fn delete_orphan_on_a_link_to_parents_is_a_mapping_error() {
    let base = || {
        Registry::new()
            .map::<Citizen>()
            .unwrap()
            .map::<Passport>()
            .unwrap()
    };
    let err = base()
        .map::<Visa>()
        .unwrap()
        .configure()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Visa") && err.contains("citizen") && err.contains("delete-orphan"),
        "{err}"
    );
    let err = base()
        .map::<Student>()
        .unwrap()
        .map::<Course>()
        .unwrap()
        .map::<Club>()
        .unwrap()
        .configure()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Club") && err.contains("members") && err.contains("many-to-many"),
        "{err}"
    );
}

fn many_to_many_through_an_association_table(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let ann = s
        .add(Student {
            id: None,
            name: "Ann".into(),
            courses: Many::new(),
        })
        .unwrap();
    let bob = s
        .add(Student {
            id: None,
            name: "Bob".into(),
            courses: Many::new(),
        })
        .unwrap();
    let math = s
        .add(Course {
            id: None,
            title: "Math".into(),
            students: Many::new(),
        })
        .unwrap();
    let art = s
        .add(Course {
            id: None,
            title: "Art".into(),
            students: Many::new(),
        })
        .unwrap();
    ann.append(Student::courses, &math).unwrap();
    ann.append(Student::courses, &art).unwrap();
    math.append(Course::students, &bob).unwrap();
    // Both sides in step: the mirror pair is written once.
    assert_eq!(math.read().students.len().unwrap(), 2);
    let log = writes_to(engine, "r_student_courses");
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_student_courses"), 3);
    // The three rows go in one INSERT.
    let written = drain(&log);
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(written[0].starts_with("INSERT"), "{written:?}");
    let ann = s.get::<Student>(ann.read().id.unwrap()).unwrap().unwrap();
    let courses = s.load(&ann, Student::courses).unwrap();
    let titles: Vec<String> = courses.iter().map(|c| c.read().title.clone()).collect();
    assert_eq!(titles, ["Art", "Math"]);
    let art = courses[0].clone();
    ann.remove_from(Student::courses, &art).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_student_courses"), 2);
    // Rows removed and added in one flush: the removals first, one DELETE text per row,
    // then one INSERT.
    let math = courses[1].clone();
    s.load(&ann, Student::courses).unwrap();
    s.load(&math, Course::students).unwrap();
    s.load(&bob, Student::courses).unwrap();
    ann.remove_from(Student::courses, &math).unwrap();
    math.remove_from(Course::students, &bob).unwrap();
    ann.append(Student::courses, &art).unwrap();
    drain(&log);
    s.commit().unwrap();
    let written = drain(&log);
    assert_eq!(written.len(), 3, "{written:?}");
    assert!(
        written[..2].iter().all(|w| w.starts_with("DELETE")),
        "{written:?}"
    );
    assert_eq!(written[0], written[1]);
    assert!(written[2].starts_with("INSERT"), "{written:?}");
    let pairs: Vec<(String, String)> = support::rows(
        engine,
        "SELECT st.name, c.title FROM r_student_courses sc \
             JOIN r_students st ON st.id = sc.student_id \
             JOIN r_courses c ON c.id = sc.course_id ORDER BY st.name, c.title",
    );
    assert_eq!(pairs, [("Ann".to_string(), "Art".to_string())]);
    // Put Bob back on Math for the deletion below.
    s.load(&math, Course::students).unwrap();
    s.load(&bob, Student::courses).unwrap();
    math.append(Course::students, &bob).unwrap();
    s.commit().unwrap();
    // Many-to-many below many-to-many: the courses' select-in query joins their
    // students, two statements in all.
    let reads = selects(engine);
    let mut fresh = Session::new(engine);
    let students = fresh
        .scalars(
            &select::<Student>()
                .options(selectinload(Student::courses).joinedload(Course::students))
                .order_by([Student::name.asc()]),
        )
        .unwrap()
        .all();
    assert_eq!(drain(&reads).len(), 2);
    let roster = |st: &Handle<Student>| -> Vec<(String, Vec<String>)> {
        let courses = st.read().courses.get().unwrap().to_vec();
        courses
            .iter()
            .map(|c| {
                let c = c.read();
                let names = c.students.get().expect("students loaded by the join");
                let mut names: Vec<String> = names.iter().map(|p| p.read().name.clone()).collect();
                names.sort();
                (c.title.clone(), names)
            })
            .collect()
    };
    let course = |title: &str, names: &[&str]| {
        (
            title.to_string(),
            names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(roster(&students[0]), [course("Art", &["Ann"])]);
    assert_eq!(roster(&students[1]), [course("Math", &["Bob"])]);
    assert!(drain(&reads).is_empty());
    drop(fresh);
    let bob = s.get::<Student>(bob.read().id.unwrap()).unwrap().unwrap();
    s.delete(&bob).unwrap(); // its association rows go first
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_student_courses"), 1);

    // A row that already exists (written behind the session's back) fails the flush,
    // which names the student and writes nothing.
    s.load(&ann, Student::courses).unwrap();
    s.load(&math, Course::students).unwrap();
    let (ann_id, math_id) = (ann.read().id.unwrap(), math.read().id.unwrap());
    engine
        .connect()
        .unwrap()
        .execute(&text(&format!(
            "INSERT INTO r_student_courses (student_id, course_id) VALUES ({ann_id}, {math_id})"
        )))
        .unwrap();
    let cara = s
        .add(Student {
            id: None,
            name: "Cara".into(),
            courses: Many::new(),
        })
        .unwrap();
    cara.append(Student::courses, &math).unwrap();
    ann.append(Student::courses, &math).unwrap();
    let err = s.commit().unwrap_err();
    assert!(
        matches!(&err, strata::orm::Error::Flush { model, .. } if model == "Student"),
        "{err}"
    );
    s.rollback().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_student_courses"), 2);
    assert_eq!(
        count(
            engine,
            "SELECT count(*) FROM r_students WHERE name = 'Cara'"
        ),
        0
    );
}

fn person(name: &str) -> Handle<Person> {
    Handle::new(Person {
        id: None,
        name: name.into(),
        following: Many::new(),
    })
    .unwrap()
}

fn self_referential_many_to_many_keeps_rows_of_both_directions(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let (ann, bob, cyd) = (person("Ann"), person("Bob"), person("Cyd"));
    // Ann follows Bob and Bob follows Ann: two rows (follower, followed), in one flush.
    ann.append(Person::following, &bob).unwrap();
    ann.append(Person::following, &cyd).unwrap();
    bob.append(Person::following, &ann).unwrap();
    for p in [&ann, &bob, &cyd] {
        s.add(p).unwrap();
    }
    s.commit().unwrap();
    let pairs: Vec<(String, String)> = support::rows(
        engine,
        "SELECT a.name, b.name FROM r_follows f \
             JOIN r_people a ON a.id = f.follower_id \
             JOIN r_people b ON b.id = f.followed_id ORDER BY a.name, b.name",
    );
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        pairs,
        [pair("Ann", "Bob"), pair("Ann", "Cyd"), pair("Bob", "Ann")]
    );
    let names = |p: &Handle<Person>, s: &mut Session| -> Vec<String> {
        s.load(p, Person::following)
            .unwrap()
            .iter()
            .map(|f| f.read().name.clone())
            .collect()
    };
    assert_eq!(names(&ann, &mut s), ["Bob", "Cyd"]);
    assert_eq!(names(&bob, &mut s), ["Ann"]);
    assert!(names(&cyd, &mut s).is_empty());
}

fn relationships_loaded_after_an_expiry_survive_the_refresh(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let ann = s
        .add(Student {
            id: None,
            name: "Ann".into(),
            courses: Many::new(),
        })
        .unwrap();
    let math = s
        .add(Course {
            id: None,
            title: "Math".into(),
            students: Many::new(),
        })
        .unwrap();
    ann.append(Student::courses, &math).unwrap();
    s.commit().unwrap();
    // The commit expired Ann and unloaded her courses; loading them again...
    assert!(!ann.read().courses.is_loaded());
    s.load(&ann, Student::courses).unwrap();
    // ...survives a query that returns her row and refreshes her expired columns.
    let again = s.scalars(&select::<Student>()).unwrap().all();
    assert!(Handle::ptr_eq(&again[0], &ann));
    assert_eq!(ann.read().courses.len().unwrap(), 1);
    // An expiry while a guard is alive cannot unload the relationship: the refresh does.
    let guard = ann.read();
    s.expire(&ann).unwrap();
    drop(guard);
    assert!(ann.read().courses.is_loaded());
    s.scalars(&select::<Student>()).unwrap().all();
    assert!(!ann.read().courses.is_loaded());
    assert_eq!(s.load(&ann, Student::courses).unwrap().len(), 1);
}

fn category(name: &str) -> Handle<Category> {
    Handle::new(Category {
        id: None,
        name: name.into(),
        parent_id: None,
        parent: One::new(),
        children: Many::new(),
    })
    .unwrap()
}

fn self_referential_tree(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let root = category("root");
    let a = category("a");
    let b = category("b");
    let a1 = category("a1");
    // Added child-first: the flush still inserts parents before children.
    a.append(Category::children, &a1).unwrap();
    root.append(Category::children, &a).unwrap();
    b.set_ref(Category::parent, Some(&root)).unwrap();
    s.add(&a1).unwrap();
    s.add(&root).unwrap();
    s.commit().unwrap();
    assert_eq!(a1.read().parent_id, a.read().id);
    assert_eq!(a.read().parent_id, root.read().id);
    assert_eq!(b.read().parent_id, root.read().id);
    let roots = s
        .scalars(
            &select::<Category>()
                .filter(Category::parent_id.is_null())
                .options(selectinload(Category::children).selectinload(Category::children)),
        )
        .unwrap()
        .all();
    assert_eq!(roots.len(), 1);
    let kids: Vec<String> = roots[0]
        .read()
        .children
        .get()
        .unwrap()
        .iter()
        .map(|c| c.read().name.clone())
        .collect();
    assert_eq!(kids, ["a", "b"]);
    let a = roots[0].read().children.get().unwrap()[0].clone();
    assert_eq!(a.read().children.len().unwrap(), 1);
    let parent = a.read().parent.get().unwrap().unwrap();
    assert!(Handle::ptr_eq(&parent, &roots[0]));
    // Deleting the root cascades down the tree, leaves first.
    s.delete(&roots[0]).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_categories"), 0);
}

fn hundred_users(engine: &Engine) {
    let mut s = Session::new(engine);
    for i in 0..100 {
        let u = Handle::new(user(&format!("u{i:03}"))).unwrap();
        for j in 0..2 {
            u.append(
                User::tasks,
                &Handle::new(task(&format!("t{i}-{j}"), None)).unwrap(),
            )
            .unwrap();
        }
        s.add(&u).unwrap();
    }
    s.commit().unwrap();
}

fn selectin_joined_and_lazy_statement_counts(engine: &Engine) {
    setup(engine);
    hundred_users(engine);
    let log = selects(engine);
    // select-in: 2 statements.
    let mut s = Session::new(engine);
    let users = s
        .scalars(&select::<User>().options(selectinload(User::tasks)))
        .unwrap()
        .all();
    assert_eq!(users.len(), 100);
    assert!(users.iter().all(|u| u.read().tasks.len().unwrap() == 2));
    assert_eq!(drain(&log).len(), 2);
    drop(s);
    // joined: 1 statement.
    let mut s = Session::new(engine);
    let users = s
        .scalars(&select::<User>().options(joinedload(User::tasks)))
        .unwrap()
        .all();
    assert_eq!(users.len(), 100);
    assert!(users.iter().all(|u| u.read().tasks.len().unwrap() == 2));
    assert_eq!(drain(&log).len(), 1);
    drop(s);
    // lazy, one by one through the session: 1 + 100.
    let mut s = Session::new(engine);
    let users = s.scalars(&select::<User>()).unwrap().all();
    for u in &users {
        assert_eq!(s.load(u, User::tasks).unwrap().len(), 2);
    }
    assert_eq!(drain(&log).len(), 101);
}

fn raise_strategy_and_raiseload(engine: &Engine) {
    setup(engine);
    hundred_users(engine);
    let mut s = Session::new(engine);
    let u = s.get::<User>(1).unwrap().unwrap();
    // User::profile is declared lazy = "raise".
    let err = s.load(&u, User::profile).unwrap_err().to_string();
    assert!(err.contains("raise"), "{err}");
    let users = s
        .scalars(&select::<User>().options(raiseload(User::tasks)))
        .unwrap()
        .all();
    assert!(s
        .load(&users[0], User::tasks)
        .unwrap_err()
        .to_string()
        .contains("raise"));
    let users = s
        .scalars(
            &select::<User>()
                .filter(User::id.eq(1))
                .options(selectinload(User::profile)),
        )
        .unwrap()
        .all();
    assert!(users[0].read().profile.get().unwrap().is_none());
}

fn nested_loader_options(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    for i in 0..5 {
        let u = Handle::new(user(&format!("u{i}"))).unwrap();
        let t = Handle::new(task("t", None)).unwrap();
        u.append(User::tasks, &t).unwrap();
        s.add(&u).unwrap();
        s.flush().unwrap();
        let tid = t.read().id.unwrap();
        s.add_all((0..3).map(|k| Note {
            id: None,
            task_id: tid,
            body: format!("n{k}"),
            task: One::new(),
        }))
        .unwrap();
    }
    s.commit().unwrap();
    let log = selects(engine);
    let mut s = Session::new(engine);
    let users = s
        .scalars(&select::<User>().options(selectinload(User::tasks).selectinload(UserTask::notes)))
        .unwrap()
        .all();
    assert_eq!(drain(&log).len(), 3, "users, tasks, notes");
    let notes = users[0].read().tasks.get().unwrap()[0]
        .read()
        .notes
        .len()
        .unwrap();
    assert_eq!(notes, 3);
}

fn joined_many_to_one(engine: &Engine) {
    setup(engine);
    hundred_users(engine);
    let log = selects(engine);
    let mut s = Session::new(engine);
    let tasks = s
        .scalars(&select::<UserTask>().options(joinedload(UserTask::user)))
        .unwrap()
        .all();
    assert_eq!(tasks.len(), 200);
    assert_eq!(drain(&log).len(), 1);
    let owner = tasks[0].read().user.get().unwrap().unwrap();
    assert_eq!(tasks[0].read().user_id, owner.read().id);
}

fn selectin_chunks_large_key_sets(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add_all((0..1200).map(|i| user(&format!("u{i}"))))
        .unwrap();
    s.commit().unwrap();
    let log = selects(engine);
    let users = s
        .scalars(&select::<User>().options(selectinload(User::tasks)))
        .unwrap()
        .all();
    assert_eq!(users.len(), 1200);
    let sel = drain(&log);
    assert_eq!(sel.len(), 1 + 3, "1200 keys in chunks of 500");
}

/// A query whose rows repeat a parent (a join to its two tasks) gives each parent
/// once, as SQLAlchemy's ORM results do, with its children once.
fn selectin_with_repeated_parents(engine: &Engine) {
    setup(engine);
    hundred_users(engine);
    let mut s = Session::new(engine);
    let rows = s
        .scalars(
            &select::<User>()
                .join(UserTask::table().unwrap())
                .filter(User::id.le(3))
                .options(selectinload(User::tasks).selectinload(UserTask::notes)),
        )
        .unwrap()
        .all();
    assert_eq!(rows.len(), 3, "3 users, each once, from 6 rows");
    for u in &rows {
        let u = u.read();
        let titles: Vec<String> = u
            .tasks
            .get()
            .unwrap()
            .iter()
            .map(|t| t.read().title.clone())
            .collect();
        let n = u.name[1..].parse::<usize>().unwrap();
        assert_eq!(titles, [format!("t{n}-0"), format!("t{n}-1")]);
    }
}

fn relationship_order_by(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let u = s.add(user("U")).unwrap();
    s.add_all(["c", "a", "b"].map(|t| task(t, Some(1))))
        .unwrap();
    s.commit().unwrap();
    let titles: Vec<String> = s
        .load(&u, User::tasks)
        .unwrap()
        .iter()
        .map(|t| t.read().title.clone())
        .collect();
    assert_eq!(titles, ["a", "b", "c"]);
}

/// The titles of a user's loaded tasks.
fn task_titles(u: &Handle<User>) -> Vec<String> {
    u.read()
        .tasks
        .get()
        .unwrap()
        .iter()
        .map(|t| t.read().title.clone())
        .collect()
}

fn joined_many_to_many_in_one_statement(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let student = |name: &str| Student {
        id: None,
        name: name.into(),
        courses: Many::new(),
    };
    let (ann, bob, _cyd) = (
        s.add(student("Ann")).unwrap(),
        s.add(student("Bob")).unwrap(),
        s.add(student("Cyd")).unwrap(),
    );
    for title in ["Math", "Art"] {
        let c = s
            .add(Course {
                id: None,
                title: title.into(),
                students: Many::new(),
            })
            .unwrap();
        ann.append(Student::courses, &c).unwrap();
        if title == "Math" {
            bob.append(Student::courses, &c).unwrap();
        }
    }
    let (a, b, c) = (person("A"), person("B"), person("C"));
    a.append(Person::following, &b).unwrap();
    a.append(Person::following, &c).unwrap();
    c.append(Person::following, &a).unwrap();
    s.add_all([&a, &b, &c]).unwrap();
    s.commit().unwrap();
    drop(s);

    let log = selects(engine);
    let mut s = Session::new(engine);
    let students = s
        .scalars(
            &select::<Student>()
                .options(joinedload(Student::courses))
                .order_by([Student::name.asc()]),
        )
        .unwrap()
        .all();
    assert_eq!(drain(&log).len(), 1, "students with their courses, joined");
    let courses: Vec<(String, Vec<String>)> = students
        .iter()
        .map(|st| {
            let st = st.read();
            let titles = st.courses.get().unwrap().iter();
            (
                st.name.clone(),
                titles.map(|c| c.read().title.clone()).collect(),
            )
        })
        .collect();
    let row = |n: &str, ts: &[&str]| (n.to_string(), ts.iter().map(|t| t.to_string()).collect());
    assert_eq!(
        courses,
        [
            row("Ann", &["Art", "Math"]),
            row("Bob", &["Math"]),
            row("Cyd", &[])
        ]
    );
    // Self-referential: the followed people come from an alias of the same table.
    let people = s
        .scalars(
            &select::<Person>()
                .options(joinedload(Person::following))
                .order_by([Person::name.asc()]),
        )
        .unwrap()
        .all();
    assert_eq!(drain(&log).len(), 1);
    let following: Vec<(String, Vec<String>)> = people
        .iter()
        .map(|p| {
            let p = p.read();
            let names = p.following.get().unwrap().iter();
            (
                p.name.clone(),
                names.map(|f| f.read().name.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        following,
        [row("A", &["B", "C"]), row("B", &[]), row("C", &["A"])]
    );
}

fn joined_with_limit_and_offset_counts_parents(engine: &Engine) {
    setup(engine);
    hundred_users(engine);
    let log = selects(engine);
    let mut s = Session::new(engine);
    // Ordered by an expression, newest first: u094 .. u090.
    let users = s
        .scalars(
            &select::<User>()
                .options(joinedload(User::tasks))
                .order_by([strata::func::upper(User::name).desc()])
                .limit(5)
                .offset(5),
        )
        .unwrap()
        .all();
    let sql = drain(&log);
    assert_eq!(sql.len(), 1, "{sql:?}");
    let names: Vec<String> = users.iter().map(|u| u.read().name.clone()).collect();
    assert_eq!(names, ["u094", "u093", "u092", "u091", "u090"]);
    for u in &users {
        let n = u.read().name[1..].parse::<usize>().unwrap();
        assert_eq!(task_titles(u), [format!("t{n}-0"), format!("t{n}-1")]);
    }
    // A filter and a join inside the limited statement stay there.
    let users = s
        .scalars(
            &select::<User>()
                .join(UserTask::table().unwrap())
                .filter(UserTask::title.eq("t7-1"))
                .options(joinedload(User::tasks))
                .limit(3),
        )
        .unwrap()
        .all();
    assert_eq!(users.len(), 1);
    assert_eq!(task_titles(&users[0]), ["t7-0", "t7-1"]);
}

/// Fresh tables where u0 has a task "busy" with notes n1 and n2 and a task "idle"
/// without, and u1 has no tasks.
fn busy_and_idle_tasks(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    // u0 has a task with two notes and a task without; u1 has no tasks.
    let u0 = Handle::new(user("u0")).unwrap();
    let (busy, idle) = (
        Handle::new(task("busy", None)).unwrap(),
        Handle::new(task("idle", None)).unwrap(),
    );
    u0.append(User::tasks, &busy).unwrap();
    u0.append(User::tasks, &idle).unwrap();
    for body in ["n1", "n2"] {
        let note = Handle::new(Note {
            id: None,
            task_id: 0,
            body: body.into(),
            task: One::new(),
        })
        .unwrap();
        busy.append(UserTask::notes, &note).unwrap();
    }
    s.add(&u0).unwrap();
    s.add(user("u1")).unwrap();
    s.commit().unwrap();
    drop(s);
}

/// The bodies of a task's notes, sorted; the notes must be loaded.
fn note_bodies(t: &Handle<UserTask>) -> Vec<String> {
    let t = t.read();
    let notes = t.notes.get().expect("notes loaded");
    let mut bodies: Vec<String> = notes.iter().map(|n| n.read().body.clone()).collect();
    bodies.sort();
    bodies
}

/// Check the users of [`busy_and_idle_tasks`] (u0 first), loaded with their tasks
/// and the tasks' notes; u0's tasks.
fn busy_and_idle_loaded(users: &[Handle<User>]) -> Vec<Handle<UserTask>> {
    assert_eq!(users.len(), 2);
    assert_eq!(task_titles(&users[0]), ["busy", "idle"]);
    assert!(task_titles(&users[1]).is_empty());
    let tasks = users[0].read().tasks.get().unwrap().to_vec();
    assert_eq!(note_bodies(&tasks[0]), ["n1", "n2"]);
    assert!(note_bodies(&tasks[1]).is_empty());
    tasks
}

/// All users by name, with `load`.
fn users_by_name(s: &mut Session, load: Load<User, Note>) -> Vec<Handle<User>> {
    s.scalars(&select::<User>().options(load).order_by([User::name.asc()]))
        .unwrap()
        .all()
}

fn nested_joined_loads_in_one_statement(engine: &Engine) {
    busy_and_idle_tasks(engine);

    let log = selects(engine);
    let mut s = Session::new(engine);
    let users = users_by_name(&mut s, joinedload(User::tasks).joinedload(UserTask::notes));
    assert_eq!(
        drain(&log).len(),
        1,
        "users, tasks and notes in one statement"
    );
    let tasks = busy_and_idle_loaded(&users);
    // The back references are set in memory: no statement.
    let owner = tasks[0].read().user.get().unwrap().unwrap();
    assert!(Handle::ptr_eq(&owner, &users[0]));
    assert!(drain(&log).is_empty());
}

/// `selectinload(a).joinedload(b)`: the select-in query of `a` LEFT JOINs `b`,
/// as SQLAlchemy does; two statements in all, for every kind of select-in load.
fn joined_loads_below_a_selectin_load_join_its_query(engine: &Engine) {
    busy_and_idle_tasks(engine);

    // One-to-many below one-to-many.
    let log = selects(engine);
    let mut s = Session::new(engine);
    let users = users_by_name(
        &mut s,
        selectinload(User::tasks).joinedload(UserTask::notes),
    );
    let sql = drain(&log);
    assert_eq!(sql.len(), 2, "users; tasks joined to their notes: {sql:#?}");
    assert!(
        sql[1].contains("LEFT JOIN") && sql[1].contains("r_notes"),
        "{}",
        sql[1]
    );
    busy_and_idle_loaded(&users);
    assert!(drain(&log).is_empty());
    drop(s);

    // One-to-many below many-to-one: the notes' task, joined to the task's owner.
    let mut s = Session::new(engine);
    let all_notes = s
        .scalars(&select::<Note>().options(selectinload(Note::task).joinedload(UserTask::user)))
        .unwrap()
        .all();
    assert_eq!(
        drain(&log).len(),
        2,
        "notes; their tasks joined to the owners"
    );
    let task = all_notes[0].read().task.get().unwrap().unwrap();
    let owner = task
        .read()
        .user
        .get()
        .expect("owner loaded by the join")
        .unwrap();
    assert_eq!(owner.read().name, "u0");
    assert!(drain(&log).is_empty());
    drop(s);

    // An object of the level whose relationship was loaded before keeps it, and one
    // whose relationship was not is loaded by select-in: the rows stay right.
    let mut s = Session::new(engine);
    let t = s
        .scalars(&select::<UserTask>().filter(UserTask::title.eq("busy")))
        .unwrap()
        .one()
        .unwrap();
    s.load(&t, UserTask::notes).unwrap();
    drain(&log);
    let users = s
        .scalars(
            &select::<User>()
                .filter(User::name.eq("u0"))
                .options(selectinload(User::tasks).joinedload(UserTask::notes)),
        )
        .unwrap()
        .all();
    assert_eq!(drain(&log).len(), 2);
    let tasks = users[0].read().tasks.get().unwrap().to_vec();
    assert!(Handle::ptr_eq(&tasks[0], &t));
    assert_eq!(note_bodies(&tasks[0]), ["n1", "n2"]);
    assert!(note_bodies(&tasks[1]).is_empty());
}

/// Users "a" (with task "t") and "b", committed; the session's handles on them, expired
/// (their relationships unloaded, as after any commit).
fn a_b_and_t(engine: &Engine, s: &mut Session) -> (Handle<User>, Handle<User>, Handle<UserTask>) {
    setup(engine);
    let a = s.add(user("a")).unwrap();
    let b = s.add(user("b")).unwrap();
    let t = Handle::new(task("t", None)).unwrap();
    a.append(User::tasks, &t).unwrap();
    s.commit().unwrap();
    (a, b, t)
}

/// The user id of the task row (the one task).
fn task_owner(engine: &Engine) -> Option<i64> {
    support::rows::<(Option<i64>,)>(engine, "SELECT user_id FROM r_user_tasks")[0].0
}

// The faults below were found by the relationship model test (orm_relationships_model.rs).

/// A new child appended to a parent that is then deleted is never inserted: the flush
/// deletes the parent alone (it used to insert the child and then fail on its foreign
/// key).
fn a_new_child_of_a_parent_deleted_before_the_flush_is_never_inserted(engine: &Engine) {
    let mut s = Session::new(engine);
    let (a, _, _) = a_b_and_t(engine, &mut s);
    s.load(&a, User::tasks).unwrap();
    let new = Handle::new(task("new", None)).unwrap();
    a.append(User::tasks, &new).unwrap();
    s.delete(&a).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 0);
    assert_eq!(count(engine, "SELECT count(*) FROM r_users"), 1);
    assert_eq!(new.state(), ObjectState::Transient);
}

/// Deleting a new parent deletes the children it holds in memory, and the parent is
/// never inserted (a child's reference to it used to bring it back).
fn deleting_a_new_parent_deletes_the_children_it_holds(engine: &Engine) {
    let mut s = Session::new(engine);
    let (_, _, t) = a_b_and_t(engine, &mut s);
    let new = s.add(user("new")).unwrap();
    new.append(User::tasks, &t).unwrap();
    s.delete(&new).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 0);
    assert_eq!(count(engine, "SELECT count(*) FROM r_users"), 2);
    assert_eq!(new.state(), ObjectState::Transient);
}

/// A child moved to a parent while its own reference was not loaded, then taken out of
/// that parent, is an orphan (it used to stay with its first parent).
fn a_child_moved_and_taken_out_is_an_orphan(engine: &Engine) {
    let mut s = Session::new(engine);
    let (_, b, t) = a_b_and_t(engine, &mut s);
    s.load(&b, User::tasks).unwrap();
    b.append(User::tasks, &t).unwrap();
    b.remove_from(User::tasks, &t).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 0);
}

/// Deleting a parent spares a child that moved to another parent in memory, although
/// its row (which the flush loads the parent's children from) still says otherwise; and
/// that load leaves the child's new parent alone.
fn deleting_a_parent_spares_a_child_moved_away_in_memory(engine: &Engine) {
    let mut s = Session::new(engine);
    let (a, b, t) = a_b_and_t(engine, &mut s);
    s.load(&b, User::tasks).unwrap();
    b.append(User::tasks, &t).unwrap();
    s.delete(&a).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_users"), 1);
    assert_eq!(task_owner(engine), b.read().id);
}

/// A rollback gives a child whose foreign key a flush set (it moved) the key its row
/// has again, so that moving it once more is a change (it used to be lost).
fn a_rollback_gives_a_moved_child_its_parent_back(engine: &Engine) {
    let mut s = Session::new(engine);
    let (a, b, t) = a_b_and_t(engine, &mut s);
    s.load(&b, User::tasks).unwrap();
    b.append(User::tasks, &t).unwrap();
    s.flush().unwrap();
    s.rollback().unwrap();
    assert_eq!(t.read().user_id, a.read().id);
    s.load(&b, User::tasks).unwrap();
    b.append(User::tasks, &t).unwrap();
    s.commit().unwrap();
    assert_eq!(task_owner(engine), b.read().id);
}

fn eager_loads_keep_collections_changed_in_memory(engine: &Engine) {
    setup(engine);
    hundred_users(engine);
    let mut s = Session::new(engine);
    s.set_autoflush(false);
    let u = s.get::<User>(1).unwrap().unwrap();
    s.load(&u, User::tasks).unwrap();
    u.append(User::tasks, &Handle::new(task("extra", None)).unwrap())
        .unwrap();
    // Neither loader overwrites the collection with the rows: the append stays.
    for stmt in [
        select::<User>().options(joinedload(User::tasks)),
        select::<User>().options(selectinload(User::tasks)),
    ] {
        let users = s.scalars(&stmt.filter(User::id.le(2))).unwrap().all();
        assert!(Handle::ptr_eq(&users[0], &u));
        assert_eq!(task_titles(&u), ["t0-0", "t0-1", "extra"]);
        // The other user's tasks come from the rows.
        assert_eq!(task_titles(&users[1]), ["t1-0", "t1-1"]);
    }
    s.commit().unwrap();
    assert_eq!(
        count(
            engine,
            "SELECT count(*) FROM r_user_tasks WHERE user_id = 1 AND title = 'extra'"
        ),
        1
    );
}

fn cascaded_objects_are_inserted_after_the_object_that_brought_them(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let u = Handle::new(user("U")).unwrap();
    for t in ["a", "b"] {
        u.append(User::tasks, &Handle::new(task(t, None)).unwrap())
            .unwrap();
    }
    s.add(&u).unwrap();
    s.add(task("loose", None)).unwrap();
    s.commit().unwrap();
    // As SQLAlchemy cascades on add: the user's tasks come before the one added after.
    let rows: Vec<(i64, String)> =
        support::rows(engine, "SELECT id, title FROM r_user_tasks ORDER BY id");
    let titles: Vec<&str> = rows.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(titles, ["a", "b", "loose"]);
}

fn a_live_write_guard_is_an_error_not_a_wait(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(user("U")).unwrap();
    s.commit().unwrap();
    let u = s.get::<User>(1).unwrap().unwrap();
    s.load(&u, User::tasks).unwrap();
    {
        let mut w = u.write();
        w.name = "V".into();
        // Each of these would read the object the guard holds.
        let errs = [
            s.flush().unwrap_err(),
            s.scalars(&select::<User>()).map(|_| ()).unwrap_err(),
            s.load(&u, User::tasks).map(|_| ()).unwrap_err(),
            s.refresh(&u).unwrap_err(),
            s.commit().unwrap_err(),
        ];
        for e in errs {
            let e = e.to_string();
            assert!(
                e.contains("a write() guard on User (1) is alive on this thread"),
                "{e}"
            );
        }
        // Printing the object cannot read it either: a placeholder, not a wait.
        assert_eq!(
            format!("{u:?}"),
            "<User held by a write() guard on this thread>"
        );
    }
    assert!(format!("{u:?}").contains(r#"name: "V""#), "{u:?}");
    s.commit().unwrap();
    assert_eq!(
        count(engine, "SELECT count(*) FROM r_users WHERE name = 'V'"),
        1
    );
    // A new object that a save-update cascade reaches.
    let t = Handle::new(task("T", None)).unwrap();
    s.load(&u, User::tasks).unwrap();
    u.append(User::tasks, &t).unwrap();
    {
        let _w = t.write();
        let e = s.flush().unwrap_err().to_string();
        assert!(
            e.contains("a write() guard on a new UserTask (reached from User.tasks"),
            "{e}"
        );
    }
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 1);
}

/// Past a few dozen items a collection checks membership through an index: appending
/// stays constant-time per object, and each object is still in it once.
fn appending_to_a_large_collection_keeps_each_object_once(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let u = s.add(user("U")).unwrap();
    let tasks: Vec<Handle<UserTask>> = (0..100)
        .map(|i| Handle::new(task(&format!("t{i:03}"), None)).unwrap())
        .collect();
    for t in &tasks {
        u.append(User::tasks, t).unwrap();
    }
    let len = |u: &Handle<User>| u.read().tasks.len().unwrap();
    // Appending a member again, either way, changes nothing.
    u.append(User::tasks, &tasks[5]).unwrap();
    u.append(User::tasks, &tasks[99]).unwrap();
    u.write().tasks.push(tasks[0].clone()).unwrap();
    assert_eq!(len(&u), 100);
    // A removed object leaves the index too: appended again, it comes back, last.
    u.remove_from(User::tasks, &tasks[5]).unwrap();
    assert_eq!(len(&u), 99);
    u.append(User::tasks, &tasks[5]).unwrap();
    u.append(User::tasks, &tasks[5]).unwrap();
    assert_eq!(len(&u), 100);
    assert!(Handle::ptr_eq(
        &u.read().tasks.get().unwrap()[99],
        &tasks[5]
    ));
    s.commit().unwrap();
    assert_eq!(
        count(
            engine,
            "SELECT count(*) FROM r_user_tasks WHERE user_id = 1"
        ),
        100
    );
    // A loaded collection past the threshold: appending a loaded member is no change.
    let mut s = Session::new(engine);
    let u = s.get::<User>(1).unwrap().unwrap();
    let loaded = s.load(&u, User::tasks).unwrap();
    u.append(User::tasks, &loaded[42]).unwrap();
    let extra = Handle::new(task("extra", None)).unwrap();
    u.append(User::tasks, &extra).unwrap();
    u.append(User::tasks, &extra).unwrap();
    assert_eq!(len(&u), 101);
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 101);
}

/// A flush deleting more objects than one statement may bind (SQLite takes 32 766
/// parameters) splits its batched DELETE, and all of them are deleted.
fn deleting_more_objects_than_one_statement_takes(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(user("U")).unwrap();
    s.commit().unwrap();
    // Written behind the session's back, 1000 rows a statement.
    let tasks = registry().metadata().table("r_user_tasks").unwrap().clone();
    let ids: Vec<i64> = (1..=32_800).collect();
    let inserts = ids.chunks(1000).map(|ids| {
        ids.iter().fold(
            insert(&tasks).columns(["id", "title", "user_id"]),
            |stmt, &id| stmt.row((id, "task", 1)),
        )
    });
    engine.connect().unwrap().execute_many(inserts).unwrap();
    let log = writes_to(engine, "r_user_tasks");
    let u = s.get::<User>(1).unwrap().unwrap();
    assert_eq!(s.load(&u, User::tasks).unwrap().len(), 32_800);
    s.delete(&u).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 0);
    assert_eq!(count(engine, "SELECT count(*) FROM r_users"), 0);
    let deletes = drain(&log);
    assert_eq!(deletes.len(), 4, "32 800 keys, at most 10 000 a statement");
}

/// Deleting a wide tree loads the children of each level's objects together (in the
/// select-in chunks of 500 keys), not with one SELECT per deleted object.
fn a_delete_cascade_loads_each_level_of_children_together(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let root = category("root");
    for i in 0..600 {
        let child = category(&format!("c{i:03}"));
        for j in 0..2 {
            child
                .append(Category::children, &category(&format!("c{i:03}.{j}")))
                .unwrap();
        }
        root.append(Category::children, &child).unwrap();
    }
    s.add(&root).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_categories"), 1801);
    let mut s = Session::new(engine);
    let root = s.get::<Category>(root.read().id.unwrap()).unwrap().unwrap();
    let log = selects(engine);
    s.delete(&root).unwrap();
    s.commit().unwrap();
    // The root's children, then 600 children's (two chunks), then 1200
    // grandchildren's (three).
    assert_eq!(drain(&log).len(), 1 + 2 + 3);
    assert_eq!(count(engine, "SELECT count(*) FROM r_categories"), 0);
}

/// New rows of one table that take keys from each other are inserted parents first,
/// however deep the chain and in whatever order they were added; rows that would
/// each need the other's key first are an error that writes nothing.
fn self_referential_inserts_follow_their_parents_and_refuse_cycles(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let chain: Vec<Handle<Category>> = (0..50).map(|i| category(&format!("n{i:02}"))).collect();
    for pair in chain.windows(2) {
        pair[1].set_ref(Category::parent, Some(&pair[0])).unwrap();
    }
    let loose = category("loose");
    for c in chain.iter().rev() {
        s.add(c).unwrap();
    }
    s.add(&loose).unwrap();
    s.commit().unwrap();
    for pair in chain.windows(2) {
        assert_eq!(pair[1].read().parent_id, pair[0].read().id);
    }
    // One INSERT round per level: the loose object goes with the chain's head.
    let rows: Vec<(i64, String)> =
        support::rows(engine, "SELECT id, name FROM r_categories ORDER BY id");
    let names: Vec<&str> = rows.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names[..3], ["n00", "loose", "n01"]);
    assert_eq!(names[50], "n49");

    let x = category("x");
    let y = category("y");
    x.set_ref(Category::parent, Some(&y)).unwrap();
    y.set_ref(Category::parent, Some(&x)).unwrap();
    s.add(&x).unwrap();
    let e = s.flush().unwrap_err().to_string();
    assert!(
        e.contains("2 objects of Category refer to each other in a cycle"),
        "{e}"
    );
    assert_eq!(count(engine, "SELECT count(*) FROM r_categories"), 51);
    y.set_ref(Category::parent, None).unwrap();
    s.commit().unwrap();
    assert_eq!(x.read().parent_id, y.read().id);
    assert_eq!(count(engine, "SELECT count(*) FROM r_categories"), 53);
}

fn titles(tasks: &[Handle<UserTask>]) -> Vec<String> {
    tasks.iter().map(|t| t.read().title.clone()).collect()
}

fn merge_cascades_along_relationships(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let u = s.add(user("Anna")).unwrap();
    s.add_all([task("a", Some(1)), task("b", Some(1))]).unwrap();
    s.commit().unwrap();
    s.load(&u, User::tasks).unwrap();
    s.close().unwrap();
    // The detached graph changes: a task renamed, one removed, a new one added.
    let tasks = u.read().tasks.get().unwrap().to_vec();
    assert_eq!(titles(&tasks), ["a", "b"]);
    tasks[0].write().title = "a2".into();
    u.remove_from(User::tasks, &tasks[1]).unwrap();
    let c = Handle::new(task("c", None)).unwrap();
    u.append(User::tasks, &c).unwrap();

    let mut s = Session::new(engine);
    let merged = s.merge(&*u.read()).unwrap();
    assert!(!Handle::ptr_eq(&merged, &u));
    assert_eq!(merged.state(), ObjectState::Persistent);
    let merged_tasks = merged.read().tasks.get().unwrap().to_vec();
    assert_eq!(titles(&merged_tasks), ["a2", "c"]);
    for t in &merged_tasks {
        assert!(!tasks.iter().any(|x| Handle::ptr_eq(x, t)) && !Handle::ptr_eq(t, &c));
        // The back references point at the merged user, not the detached one.
        assert!(Handle::ptr_eq(
            &t.read().user.get().unwrap().unwrap(),
            &merged
        ));
    }
    assert_eq!(merged_tasks[0].state(), ObjectState::Persistent);
    assert_eq!(merged_tasks[1].state(), ObjectState::Pending);
    // The objects merged from stay as they were, outside the session.
    assert_eq!(u.state(), ObjectState::Detached);
    assert_eq!(c.state(), ObjectState::Transient);
    s.commit().unwrap();
    // "b" left a delete-orphan collection: deleted; "c" was inserted under Anna.
    let rows: Vec<(String, Option<i64>)> = support::rows(
        engine,
        "SELECT title, user_id FROM r_user_tasks ORDER BY title",
    );
    assert_eq!(
        rows,
        [("a2".to_string(), Some(1)), ("c".to_string(), Some(1))]
    );
    // Merging the same graph again changes nothing more.
    let again = s.merge(&*u.read()).unwrap();
    assert!(Handle::ptr_eq(&again, &merged));
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 2);
}

fn merge_of_a_new_graph_adds_all_of_it(engine: &Engine) {
    setup(engine);
    let u = Handle::new(User {
        id: Some(7),
        ..user("New")
    })
    .unwrap();
    for title in ["x", "y"] {
        u.append(User::tasks, &Handle::new(task(title, None)).unwrap())
            .unwrap();
    }
    let t = u.read().tasks.get().unwrap()[0].clone();
    let note = Handle::new(Note {
        id: None,
        task_id: 0,
        body: "not merged".into(),
        task: One::new(),
    })
    .unwrap();
    t.append(UserTask::notes, &note).unwrap();
    let mut s = Session::new(engine);
    let merged = s.merge(&*u.read()).unwrap();
    assert_eq!(merged.state(), ObjectState::Pending);
    assert_eq!(merged.read().id, Some(7));
    let merged_tasks = merged.read().tasks.get().unwrap().to_vec();
    assert_eq!(titles(&merged_tasks), ["x", "y"]);
    // UserTask.notes cascades save-update only: the note is not merged.
    assert!(merged_tasks[0].read().notes.get().unwrap().is_empty());
    s.commit().unwrap();
    assert_eq!(
        count(engine, "SELECT count(*) FROM r_users WHERE id = 7"),
        1
    );
    assert_eq!(
        count(
            engine,
            "SELECT count(*) FROM r_user_tasks WHERE user_id = 7"
        ),
        2
    );
    assert_eq!(count(engine, "SELECT count(*) FROM r_notes"), 0);
    assert_eq!(note.state(), ObjectState::Transient);
}

fn merge_leaves_relationships_nobody_set_alone(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    s.add(user("Anna")).unwrap();
    s.add_all([task("a", Some(1)), task("b", Some(1))]).unwrap();
    s.commit().unwrap();
    // A plain value with the key: its empty collection was never touched.
    let merged = s
        .merge(&User {
            id: Some(1),
            ..user("Renamed")
        })
        .unwrap();
    s.commit().unwrap();
    assert_eq!(merged.read().name, "Renamed");
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 2);
    // A collection emptied on purpose is carried over: delete-orphan deletes the tasks.
    let mut other = Session::new(engine);
    let u = other.get::<User>(1).unwrap().unwrap();
    for t in other.load(&u, User::tasks).unwrap() {
        u.remove_from(User::tasks, &t).unwrap();
    }
    other.close().unwrap();
    s.merge(&*u.read()).unwrap();
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 0);
    // Merging the session's own object gives it back as it is.
    let held = s.get::<User>(1).unwrap().unwrap();
    let itself = s.merge(&*held.read()).unwrap();
    assert!(Handle::ptr_eq(&itself, &held));
    // A guard on the object to merge onto is an error, not a wait.
    let _guard = held.read();
    let err = s.merge(&User {
        id: Some(1),
        ..user("Again")
    });
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("guard on it is alive"),
        "merge onto a guarded object"
    );
}

fn expunge_and_expire_cascade(engine: &Engine) {
    setup(engine);
    let mut s = Session::new(engine);
    let u = s.add(user("Anna")).unwrap();
    s.add_all([task("a", Some(1)), task("b", Some(1))]).unwrap();
    let p = s
        .add(Profile {
            id: None,
            user_id: Some(1),
            bio: "hi".into(),
            owner: One::new(),
        })
        .unwrap();
    s.commit().unwrap();
    let tasks = s.load(&u, User::tasks).unwrap();
    // "all" includes refresh-expire: expiring the user expires its loaded tasks, and
    // their unflushed changes go with it.
    tasks[0].write().title = "changed".into();
    s.expire(&u).unwrap();
    assert_eq!(tasks[0].read().title, "a");
    assert!(!u.read().tasks.is_loaded());
    let tasks = s.load(&u, User::tasks).unwrap();
    tasks[1].write().title = "changed".into();
    s.refresh(&u).unwrap();
    assert_eq!(tasks[1].read().title, "b");
    // ... and expunge: the tasks leave with the user; the profile (default cascade,
    // no expunge) stays.
    let tasks = s.load(&u, User::tasks).unwrap();
    s.scalars(&select::<User>().options(selectinload(User::profile)))
        .unwrap()
        .all();
    assert!(u.read().profile.is_loaded());
    s.expunge(&u).unwrap();
    assert_eq!(u.state(), ObjectState::Detached);
    for t in &tasks {
        assert_eq!(t.state(), ObjectState::Detached);
    }
    assert_eq!(p.state(), ObjectState::Persistent);
    // A pending child expunged by cascade becomes transient.
    let u2 = s.add(user("Ben")).unwrap();
    let t = Handle::new(task("new", None)).unwrap();
    u2.append(User::tasks, &t).unwrap();
    s.flush().unwrap();
    let t2 = Handle::new(task("newer", None)).unwrap();
    u2.append(User::tasks, &t2).unwrap();
    s.add(&t2).unwrap();
    s.expunge(&u2).unwrap();
    assert_eq!(t.state(), ObjectState::Detached);
    assert_eq!(t2.state(), ObjectState::Transient);
    s.commit().unwrap();
    assert_eq!(count(engine, "SELECT count(*) FROM r_user_tasks"), 3);
}
