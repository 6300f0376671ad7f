//! ORM statements: `select::<User>()`, the legacy `session.query::<User>()`, and
//! results of objects.

use std::marker::PhantomData;

use strata_core::sql::Selectable;
use strata_core::{func, Expr, FromItem, OrderBy, Select as CoreSelect};

use crate::handle::Handle;
use crate::info::PrimaryKey;
use crate::loading::{Load, LoadPath};
use crate::model::Model;
use crate::session::Session;
use crate::{Error, Result};

/// A SELECT of model `M`'s objects: Core's `Select` over `M`'s columns, typed.
///
/// ```
/// use strata_orm::{Handle, Many, Model, One, Registry, Session};
/// #[derive(Model, Debug, Clone)]
/// #[model(table = "users")]
/// struct User {
///     #[column(primary_key)]
///     id: Option<i64>,
///     name: String,
///     #[relationship(back_populates = "user", cascade = "all, delete-orphan")]
///     tasks: Many<Task>,
/// }
/// #[derive(Model, Debug, Clone)]
/// #[model(table = "tasks")]
/// struct Task {
///     #[column(primary_key)]
///     id: Option<i64>,
///     title: String,
///     #[column(default = false)]
///     completed: bool,
///     #[column(foreign_key = "users.id")]
///     user_id: Option<i64>,
///     #[relationship(back_populates = "tasks")]
///     user: One<User>,
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use std::sync::Arc;
/// # use strata_core::engine::{Engine, EngineOptions};
/// # let engine = Engine::new(Arc::new(strata_dialects::SqliteDriver::memory()?), EngineOptions::default())?;
/// let registry = Registry::new().map::<User>()?.map::<Task>()?.configure()?;
/// registry.metadata().create_all(&engine)?;
/// let mut session = Session::new(&engine);
/// # use strata_orm::select;
/// session.add_all([
///     User { id: None, name: "Alice".into(), tasks: Many::new() },
///     User { id: None, name: "Bob".into(), tasks: Many::new() },
/// ])?;
/// let stmt = select::<User>().filter(User::name.eq("Alice"));
/// let users = session.scalars(&stmt)?.all();   // autoflush, then SELECT
/// assert_eq!(users.len(), 1);
/// assert_eq!(users[0].read().name, "Alice");
/// # Ok(()) }
/// ```
pub struct Select<M> {
    inner: CoreSelect,
    paths: Vec<LoadPath>,
    _m: PhantomData<fn() -> M>,
}

impl<M> Clone for Select<M> {
    fn clone(&self) -> Self {
        Select {
            inner: self.inner.clone(),
            paths: self.paths.clone(),
            _m: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for Select<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// `SELECT` every column of `M` (`select(User)` in SQLAlchemy).
pub fn select<M: Model>() -> Select<M> {
    let inner = match M::table() {
        Ok(t) => strata_core::select(t),
        Err(e) => strata_core::select(Expr::Invalid(e.clone())),
    };
    Select {
        inner,
        paths: Vec::new(),
        _m: PhantomData,
    }
}

impl<M: Model> Select<M> {
    fn map(self, f: impl FnOnce(CoreSelect) -> CoreSelect) -> Self {
        Select {
            inner: f(self.inner),
            paths: self.paths,
            _m: PhantomData,
        }
    }

    /// Add a loader option: `selectinload(User::posts)`, `joinedload(...)`,
    /// `raiseload(...)`, nested as `selectinload(User::posts).selectinload(Post::comments)`.
    pub fn options<T>(mut self, option: Load<M, T>) -> Self {
        self.paths.push(option.into_path());
        self
    }

    pub(crate) fn load_paths(&self) -> &[LoadPath] {
        &self.paths
    }

    /// Add a WHERE condition.
    pub fn filter(self, cond: impl Into<Expr>) -> Self {
        self.map(|s| s.where_(cond))
    }

    /// Same as [`Select::filter`].
    pub fn where_(self, cond: impl Into<Expr>) -> Self {
        self.filter(cond)
    }

    /// ORDER BY.
    pub fn order_by<I: IntoIterator<Item = O>, O: Into<OrderBy>>(self, items: I) -> Self {
        self.map(|s| s.order_by(items))
    }

    /// LIMIT.
    pub fn limit(self, n: u64) -> Self {
        self.map(|s| s.limit(n))
    }

    /// OFFSET.
    pub fn offset(self, n: u64) -> Self {
        self.map(|s| s.offset(n))
    }

    /// JOIN another table or model's table (ON from foreign keys), e.g. to filter on it.
    pub fn join(self, target: impl Into<FromItem>) -> Self {
        self.map(|s| s.join(target))
    }

    /// JOIN with an explicit ON clause.
    pub fn join_on(self, target: impl Into<FromItem>, on: Expr) -> Self {
        self.map(|s| s.join_on(target, on))
    }

    /// LEFT OUTER JOIN (ON from foreign keys).
    pub fn outerjoin(self, target: impl Into<FromItem>) -> Self {
        self.map(|s| s.outerjoin(target))
    }

    /// SELECT DISTINCT.
    pub fn distinct(self) -> Self {
        self.map(|s| s.distinct())
    }

    /// The Core statement.
    pub fn core(&self) -> &CoreSelect {
        &self.inner
    }

    /// Take the Core statement.
    pub fn into_core(self) -> CoreSelect {
        self.inner
    }
}

/// Objects returned by a query, in row order (duplicates of one row are one object).
#[derive(Debug)]
pub struct ScalarResult<T: Model> {
    handles: Vec<Handle<T>>,
}

impl<T: Model> ScalarResult<T> {
    pub(crate) fn new(handles: Vec<Handle<T>>) -> Self {
        ScalarResult { handles }
    }

    /// All objects.
    pub fn all(self) -> Vec<Handle<T>> {
        self.handles
    }

    /// The first object, if any.
    pub fn first(self) -> Option<Handle<T>> {
        self.handles.into_iter().next()
    }

    /// Exactly one object, or an error.
    pub fn one(self) -> Result<Handle<T>> {
        self.one_or_none()?
            .ok_or(Error::Core(strata_core::Error::NoResultFound))
    }

    /// At most one object, or an error.
    pub fn one_or_none(self) -> Result<Option<Handle<T>>> {
        match self.handles.len() {
            0 => Ok(None),
            1 => Ok(self.handles.into_iter().next()),
            _ => Err(Error::Core(strata_core::Error::MultipleResultsFound)),
        }
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }
}

impl<T: Model> IntoIterator for ScalarResult<T> {
    type Item = Handle<T>;
    type IntoIter = std::vec::IntoIter<Handle<T>>;
    fn into_iter(self) -> Self::IntoIter {
        self.handles.into_iter()
    }
}

/// SQLAlchemy's legacy `session.query(Model)` API.
pub struct Query<'s, T: Model> {
    session: &'s mut Session,
    select: Select<T>,
}

impl<'s, T: Model> Query<'s, T> {
    pub(crate) fn new(session: &'s mut Session) -> Self {
        Query {
            session,
            select: select::<T>(),
        }
    }

    /// Add a WHERE condition.
    pub fn filter(mut self, cond: impl Into<Expr>) -> Self {
        self.select = self.select.filter(cond);
        self
    }

    /// ORDER BY.
    pub fn order_by<I: IntoIterator<Item = O>, O: Into<OrderBy>>(mut self, items: I) -> Self {
        self.select = self.select.order_by(items);
        self
    }

    /// A loader option (see [`Select::options`]).
    pub fn options<U>(mut self, option: Load<T, U>) -> Self {
        self.select = self.select.options(option);
        self
    }

    /// LIMIT.
    pub fn limit(mut self, n: u64) -> Self {
        self.select = self.select.limit(n);
        self
    }

    /// OFFSET.
    pub fn offset(mut self, n: u64) -> Self {
        self.select = self.select.offset(n);
        self
    }

    /// All objects.
    pub fn all(self) -> Result<Vec<Handle<T>>> {
        Ok(self.session.scalars(&self.select)?.all())
    }

    /// The first object (LIMIT 1).
    pub fn first(self) -> Result<Option<Handle<T>>> {
        Ok(self.session.scalars(&self.select.limit(1))?.first())
    }

    /// Exactly one object.
    pub fn one(self) -> Result<Handle<T>> {
        self.session.scalars(&self.select)?.one()
    }

    /// The object with this primary key (`query(T).get(pk)`).
    pub fn get(self, pk: impl PrimaryKey) -> Result<Option<Handle<T>>> {
        self.session.get::<T>(pk)
    }

    /// `SELECT count(*)` of the query's rows.
    pub fn count(self) -> Result<i64> {
        let sub = self.select.into_core().subquery("anon_count");
        let stmt = strata_core::select(func::count_star()).select_from(sub);
        Ok(self.session.execute(&stmt)?.scalar_one::<i64>()?)
    }
}

impl<M: Model> Selectable for Select<M> {
    fn push_into(self, out: &mut Vec<Expr>) {
        out.push(self.inner.scalar_subquery())
    }
}
