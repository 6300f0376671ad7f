//! `#[derive(Model)]` with relationship fields (`Many<T>`, `One<T>`, `#[relationship]`):
//! the generated `Model::relationships`, `relation` / `relation_mut`, the typed `Rel`
//! descriptors, and how `ColumnSet` leaves relationship fields out of the columns.

use strata_core::{Column, SqlType, Table, Value};
use strata_orm::{
    column_defs, Cascade, ColumnSet, Handle, Many, Model, One, Registry, Rel, RelationField,
    RelationshipDef, Strategy,
};

/// Seed 000's `User` (one) -> `UserTask` (many), with both sides linked.
#[derive(Model, Debug, Clone)]
#[model(table = "users")]
struct User {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
    #[relationship(back_populates = "user", cascade = "all, delete-orphan")]
    #[relationship(order_by = "-priority, title")]
    tasks: Many<UserTask>,
    /// Messages this user sent (two foreign keys link users and messages).
    #[relationship(foreign_key = "sender_id", back_populates = "sender", passive_deletes)]
    sent: Many<Message>,
    #[relationship(
        foreign_key = "recipient_id",
        back_populates = "recipient",
        lazy = "noload"
    )]
    received: strata_orm::Many<Message>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "user_tasks")]
struct UserTask {
    #[column(primary_key)]
    id: Option<i64>,
    title: String,
    #[column(default = 0)]
    priority: i32,
    #[column(foreign_key = "users.id")]
    user_id: Option<i64>,
    #[relationship(back_populates = "tasks", lazy = "joined")]
    user: One<User>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "messages")]
struct Message {
    #[column(primary_key)]
    id: Option<i64>,
    body: String,
    #[column(foreign_key = "users.id")]
    sender_id: i64,
    #[column(foreign_key = "users.id")]
    recipient_id: i64,
    #[relationship(foreign_key = "sender_id", back_populates = "sent", lazy = "raise")]
    sender: strata_orm::One<User>,
    #[relationship(foreign_key = "recipient_id", back_populates = "received")]
    recipient: One<User>,
}

/// The association table of posts and tags.
fn post_tags() -> Table {
    Table::build("post_tags")
        .column(
            Column::new("post_id", SqlType::Integer)
                .primary_key()
                .foreign_key("posts.id"),
        )
        .column(
            Column::new("tag_id", SqlType::Integer)
                .primary_key()
                .foreign_key("tags.id"),
        )
        .finish()
        .expect("a valid table")
}

mod schema {
    /// The association table, reached through a path.
    pub fn post_tags() -> strata_core::Table {
        super::post_tags()
    }
}

/// A many-to-many through `post_tags`, plus a relationship with defaults (a `Many<T>`
/// field without `#[relationship]`).
#[derive(Model, Debug, Clone)]
#[model(table = "posts")]
struct Post {
    #[column(primary_key)]
    id: Option<i64>,
    title: String,
    #[relationship(secondary = post_tags, back_populates = "posts", lazy = "selectin")]
    tags: Many<Tag>,
    comments: Many<Comment>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "tags")]
struct Tag {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(unique)]
    name: String,
    #[relationship(secondary = schema::post_tags, back_populates = "tags", order_by = "title")]
    posts: Many<Post>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "comments")]
struct Comment {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(foreign_key = "posts.id")]
    post_id: i64,
    text: String,
    post: One<Post>,
}

/// Self-referential: a category tree.
#[derive(Model, Debug, Clone)]
#[model(table = "categories")]
struct Category {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
    #[column(foreign_key = "categories.id")]
    parent_id: Option<i64>,
    #[relationship(back_populates = "children")]
    parent: One<Category>,
    #[relationship(
        back_populates = "parent",
        cascade = "save-update, merge, refresh-expire, expunge",
        order_by = "name"
    )]
    children: Many<Self>,
    #[column(skip)]
    depth_cache: Option<u32>,
}

fn user(name: &str) -> User {
    User {
        id: Some(1),
        name: name.into(),
        tasks: Many::new(),
        sent: Many::new(),
        received: Many::new(),
    }
}

fn task(title: &str) -> UserTask {
    UserTask {
        id: None,
        title: title.into(),
        priority: 1,
        user_id: None,
        user: One::new(),
    }
}

fn rel<M: Model>(name: &str) -> RelationshipDef {
    M::relationships()
        .into_iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no relationship {name}"))
}

fn target_of(r: &RelationshipDef) -> std::any::TypeId {
    (r.target_type)()
}

#[test]
fn relationships_follow_field_order() {
    let names = |defs: Vec<RelationshipDef>| -> Vec<(&'static str, bool)> {
        defs.iter().map(|r| (r.name, r.collection)).collect()
    };
    assert_eq!(
        names(User::relationships()),
        [("tasks", true), ("sent", true), ("received", true)]
    );
    assert_eq!(names(UserTask::relationships()), [("user", false)]);
    assert_eq!(
        names(Message::relationships()),
        [("sender", false), ("recipient", false)]
    );
    assert_eq!(
        names(Post::relationships()),
        [("tags", true), ("comments", true)]
    );
    assert_eq!(
        names(Category::relationships()),
        [("parent", false), ("children", true)]
    );
}

#[test]
fn one_to_many_with_back_populates_cascade_and_order_by() {
    let tasks = rel::<User>("tasks");
    assert_eq!(target_of(&tasks), std::any::TypeId::of::<UserTask>());
    assert!(
        tasks.target_name.ends_with("UserTask"),
        "{}",
        tasks.target_name
    );
    assert_eq!((tasks.target_table)().unwrap().name(), "user_tasks");
    assert_eq!(tasks.back_populates, Some("user"));
    assert_eq!(tasks.order_by, Some("-priority, title"));
    assert_eq!(
        tasks.cascade,
        Cascade {
            save_update: true,
            merge: true,
            refresh_expire: true,
            expunge: true,
            delete: true,
            delete_orphan: true
        }
    );
    assert_eq!(
        Ok(tasks.cascade),
        Cascade::parse("all, delete-orphan"),
        "the derive follows Cascade::parse"
    );
    // Not given: the defaults of RelationshipDef::new.
    assert_eq!(tasks.lazy, Strategy::Lazy);
    assert!(tasks.secondary.is_none());
    assert_eq!(tasks.foreign_key, None);
    assert!(!tasks.passive_deletes);

    let back = rel::<UserTask>("user");
    assert!(!back.collection);
    assert_eq!(target_of(&back), std::any::TypeId::of::<User>());
    assert_eq!(back.back_populates, Some("tasks"));
    assert_eq!(back.lazy, Strategy::Joined);
    assert_eq!(back.cascade, Cascade::DEFAULT);
    assert_eq!(back.order_by, None);
}

#[test]
fn foreign_key_lazy_and_passive_deletes() {
    let sent = rel::<User>("sent");
    assert_eq!(sent.foreign_key, Some("sender_id"));
    assert_eq!(sent.back_populates, Some("sender"));
    assert!(sent.passive_deletes);
    assert_eq!(sent.lazy, Strategy::Lazy);

    let received = rel::<User>("received");
    assert_eq!(received.foreign_key, Some("recipient_id"));
    assert_eq!(received.lazy, Strategy::NoLoad);
    assert!(!received.passive_deletes);

    let sender = rel::<Message>("sender");
    assert_eq!(sender.foreign_key, Some("sender_id"));
    assert_eq!(sender.lazy, Strategy::Raise);
    assert_eq!(rel::<Message>("recipient").lazy, Strategy::Lazy);
}

#[test]
fn many_to_many_through_a_secondary_table() {
    let tags = rel::<Post>("tags");
    assert_eq!(target_of(&tags), std::any::TypeId::of::<Tag>());
    let secondary = tags.secondary.expect("secondary is set");
    assert_eq!(secondary().name(), "post_tags");
    assert_eq!(tags.back_populates, Some("posts"));
    assert_eq!(tags.lazy, Strategy::SelectIn);

    let posts = rel::<Tag>("posts");
    assert_eq!((posts.secondary.unwrap())().name(), "post_tags");
    assert_eq!(posts.order_by, Some("title"));
}

#[test]
fn a_many_or_one_field_without_the_attribute_has_the_defaults() {
    let plain = rel::<Post>("comments");
    let defaults = RelationshipDef::new::<Comment>("comments", true);
    assert!(plain.collection);
    assert_eq!(target_of(&plain), std::any::TypeId::of::<Comment>());
    assert_eq!(plain.target_name, defaults.target_name);
    assert_eq!(plain.back_populates, None);
    assert!(plain.secondary.is_none());
    assert_eq!(plain.foreign_key, None);
    assert_eq!(plain.order_by, None);
    assert_eq!(plain.lazy, defaults.lazy);
    assert_eq!(plain.cascade, defaults.cascade);
    assert_eq!(plain.passive_deletes, defaults.passive_deletes);

    let post = rel::<Comment>("post");
    assert!(!post.collection);
    assert_eq!(target_of(&post), std::any::TypeId::of::<Post>());
    assert_eq!(post.cascade, Cascade::DEFAULT);
}

#[test]
fn self_referential_both_ways() {
    let parent = rel::<Category>("parent");
    let children = rel::<Category>("children");
    assert_eq!(target_of(&parent), std::any::TypeId::of::<Category>());
    assert_eq!(target_of(&children), std::any::TypeId::of::<Category>());
    assert!(!parent.collection);
    assert!(children.collection);
    assert_eq!(parent.back_populates, Some("children"));
    assert_eq!(children.back_populates, Some("parent"));
    // Each cascade named sets its flag; without "all" or "delete" nothing is deleted.
    assert_eq!(
        children.cascade,
        Cascade {
            save_update: true,
            merge: true,
            refresh_expire: true,
            expunge: true,
            delete: false,
            delete_orphan: false
        }
    );
    assert_eq!(children.order_by, Some("name"));
}

#[test]
fn typed_descriptors_carry_the_index() {
    let tasks: Rel<User, Many<UserTask>> = User::tasks;
    assert_eq!(tasks.index(), 0);
    assert_eq!(User::sent.index(), 1);
    assert_eq!(User::received.index(), 2);
    let user: Rel<UserTask, One<User>> = UserTask::user;
    assert_eq!(user.index(), 0);
    assert_eq!(Category::parent.index(), 0);
    let children: Rel<Category, Many<Category>> = Category::children;
    assert_eq!(children.index(), 1);
    assert_eq!(Post::comments.index(), 1);
    // The descriptors sit next to the column constants.
    assert_eq!(Category::parent_id.name(), "parent_id");
    // Each index names the same relationship in relationships().
    for (i, r) in User::relationships().iter().enumerate() {
        let index = match r.name {
            "tasks" => User::tasks.index(),
            "sent" => User::sent.index(),
            "received" => User::received.index(),
            other => panic!("unexpected {other}"),
        };
        assert_eq!(index, i);
    }
}

#[test]
fn relation_returns_the_fields_by_index() {
    let mut u = user("Anna");
    // A new object's collections are loaded and empty.
    for i in 0..3 {
        let f = u.relation(i).expect("a relationship field");
        assert!(f.is_loaded());
        assert!(f.members().is_empty());
    }
    assert!(u.relation(3).is_none());
    assert!(u.relation_mut(3).is_none());

    let t = Handle::new(task("Learn Python")).unwrap();
    u.tasks.push(t.clone()).unwrap();
    assert_eq!(u.relation(User::tasks.index()).unwrap().members().len(), 1);
    assert!(u.relation(User::sent.index()).unwrap().members().is_empty());

    // relation_mut reaches the same field.
    let member = u.relation(0).unwrap().members();
    let mut other = user("Bob");
    other.relation_mut(0).unwrap().add(&member[0]);
    assert_eq!(other.tasks.len().unwrap(), 1);
    assert!(Handle::ptr_eq(&other.tasks.get().unwrap()[0], &t));
    other.relation_mut(2).unwrap().unload("received");
    assert!(!other.received.is_loaded());
    let err = other.received.get().unwrap_err().to_string();
    assert!(err.contains("relationship \"received\" (to "), "{err}");
    assert!(other.tasks.is_loaded() && other.sent.is_loaded());

    // A One: loaded and empty when new; relation_mut sets it.
    let mut ut = task("Write code");
    let f = ut.relation(0).unwrap();
    assert!(f.is_loaded() && f.members().is_empty());
    assert!(ut.relation(1).is_none());
    let anna = Handle::new(user("Anna")).unwrap();
    let mut with_anna = task("x");
    with_anna.user.set(Some(&anna));
    let anna_ref = with_anna.relation(0).unwrap().members();
    assert_eq!(anna_ref.len(), 1);
    ut.relation_mut(0).unwrap().add(&anna_ref[0]);
    assert!(Handle::ptr_eq(&ut.user.get().unwrap().unwrap(), &anna));

    // Self-referential.
    let c = Category {
        id: None,
        name: "root".into(),
        parent_id: None,
        parent: One::new(),
        children: Many::new(),
        depth_cache: None,
    };
    assert!(c.relation(Category::parent.index()).unwrap().is_loaded());
    assert!(c
        .relation(Category::children.index())
        .unwrap()
        .members()
        .is_empty());
    assert!(c.relation(2).is_none());
}

#[test]
fn column_defs_skip_relationship_fields() {
    let names = |defs: Vec<strata_orm::ColumnDef>| -> Vec<&'static str> {
        defs.iter().map(|d| d.field).collect()
    };
    assert_eq!(names(column_defs::<User>()), ["id", "name"]);
    assert_eq!(
        names(column_defs::<UserTask>()),
        ["id", "title", "priority", "user_id"]
    );
    assert_eq!(
        names(column_defs::<Message>()),
        ["id", "body", "sender_id", "recipient_id"]
    );
    assert_eq!(names(column_defs::<Post>()), ["id", "title"]);
    assert_eq!(
        names(column_defs::<Category>()),
        ["id", "name", "parent_id"]
    );
    let table = <Category as Model>::table().unwrap();
    assert_eq!(table.columns().count(), 3);

    let mut values = Vec::new();
    user("Anna").write_values(&mut values);
    assert_eq!(values, [Value::from(1i64), Value::from("Anna")]);
}

#[test]
fn read_values_defaults_relationships_and_update_values_leaves_them() {
    let mut row = [Value::from(5i64), Value::from("Anna")];
    let mut values = row.iter_mut();
    let mut u = User::read_values(&mut values).unwrap();
    assert_eq!(u.id, Some(5));
    assert_eq!(u.name, "Anna");
    assert!(values.next().is_none(), "relationship fields take no value");
    // Default::default(): loaded and empty.
    assert!(u.tasks.is_loaded() && u.tasks.is_empty().unwrap());
    assert!(u.sent.is_empty().unwrap() && u.received.is_empty().unwrap());

    let t = Handle::new(task("Learn Python")).unwrap();
    u.tasks.push(t.clone()).unwrap();
    RelationField::unload(&mut u.received, "received");
    u.update_values(&mut [Value::from(5i64), Value::from("Anne")].iter_mut())
        .unwrap();
    assert_eq!(u.name, "Anne");
    assert_eq!(u.tasks.len().unwrap(), 1);
    assert!(Handle::ptr_eq(&u.tasks.get().unwrap()[0], &t));
    assert!(
        !u.received.is_loaded(),
        "update_values leaves the field alone"
    );

    let mut row = [Value::from(3i64), Value::from("leaf"), Value::from(1i64)];
    let c = Category::read_values(&mut row.iter_mut()).unwrap();
    assert_eq!(c.parent_id, Some(1));
    assert!(c.parent.is_loaded() && c.parent.get().unwrap().is_none());
    assert!(c.children.is_empty().unwrap());
    assert_eq!(c.depth_cache, None);
}

#[test]
fn the_registry_sees_the_relationships() {
    let registry = Registry::new()
        .map::<User>()
        .and_then(|r| r.map::<UserTask>())
        .and_then(|r| r.map::<Message>())
        .and_then(|r| r.map::<Post>())
        .and_then(|r| r.map::<Tag>())
        .and_then(|r| r.map::<Comment>())
        .and_then(|r| r.map::<Category>())
        .and_then(|r| r.configure())
        .unwrap();
    let mapper = registry.inspect::<User>().unwrap();
    let names: Vec<_> = mapper.relationships.iter().map(|r| r.name).collect();
    assert_eq!(names, ["tasks", "sent", "received"]);
    assert_eq!(mapper.column_names(), ["id", "name"]);
}
