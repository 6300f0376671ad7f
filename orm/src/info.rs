//! Per-model runtime information and identity keys.

use std::any::TypeId;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::OnceLock;

use strata_core::{Expr, FromItem, Table, Value};

use std::sync::Arc;

use crate::handle::{AnyObject, Handle, Meta};
use crate::model::{column_defs, ColumnDef, Model};
use crate::relationship::RelationshipDef;
use crate::{Error, Result};

/// What the session needs to know about a model, computed once per type.
#[derive(Debug)]
pub(crate) struct ModelInfo {
    pub type_id: TypeId,
    pub type_name: &'static str,
    pub table: Table,
    pub columns: Vec<ColumnDef>,
    pub names: Vec<&'static str>,
    pub pk: Vec<usize>,
    pub version: Option<usize>,
    pub autoinc: Option<usize>,
    /// Columns with an onupdate value.
    pub onupdate: Vec<usize>,
    /// The relationships.
    pub relationships: Vec<RelationshipDef>,
    /// Build a tracked object from column values, with its relationships unloaded.
    pub make: MakeObject,
    /// SQL text of the statements the session reuses (see `statements`).
    pub sql_texts: crate::statements::Texts,
}

/// A row's primary key values followed by its version value (see
/// [`ModelInfo::row_key`]): what an UPDATE or DELETE matches the row by.
pub(crate) type RowKey = smallvec::SmallVec<[Value; 2]>;

/// An UPDATE's parameters (or the changed values that start them), inline when few.
pub(crate) type Params = smallvec::SmallVec<[Value; 6]>;

/// Builds a tracked object of one model from its column values (taken out of the
/// slice), with its relationships unloaded and the given session state.
pub(crate) type MakeObject =
    fn(&mut [Value], &'static ModelInfo, Meta) -> Result<Arc<dyn AnyObject>>;

fn make_object<M: Model>(
    values: &mut [Value],
    info: &'static ModelInfo,
    meta: Meta,
) -> Result<Arc<dyn AnyObject>> {
    let mut obj = M::read_values(&mut values.iter_mut())?;
    for (i, def) in info.relationships.iter().enumerate() {
        if let Some(r) = obj.relation_mut(i) {
            r.unload(def.name);
        }
    }
    Ok(Handle::with_meta(obj, info, meta).into_erased())
}

/// A model's runtime information, opaque outside the crate (used in `RelationshipDef`).
#[derive(Clone, Copy)]
pub struct InfoRef(pub(crate) fn() -> Result<&'static ModelInfo>);

impl std::fmt::Debug for InfoRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InfoRef")
    }
}

impl InfoRef {
    /// The information of model `M`.
    pub fn of<M: Model>() -> InfoRef {
        InfoRef(model_info::<M>)
    }
}

impl ModelInfo {
    pub fn short_name(&self) -> &'static str {
        self.type_name.rsplit("::").next().unwrap_or(self.type_name)
    }

    /// The identity key of an object with these column values.
    pub fn key(&self, values: &[Value]) -> Option<IdentityKey> {
        let parts = match self.pk.as_slice() {
            &[i] => KeyParts::One(key_part(values, i)?),
            pk => KeyParts::Many(
                pk.iter()
                    .map(|&i| key_part(values, i))
                    .collect::<Option<_>>()?,
            ),
        };
        Some(IdentityKey::new(self.type_id, parts))
    }

    /// The model's columns read from `from` (its table, an alias or a subquery of it),
    /// in the model's column order: the select list that loads its objects.
    pub fn columns_in(&self, from: &FromItem) -> Vec<Expr> {
        self.names.iter().map(|n| from.c(n)).collect()
    }

    /// `pk1 = v1 AND pk2 = v2 ...` on the model's table, for the primary key values `pk`
    /// (at least the key's columns, in their order; anything after them is ignored).
    pub fn pk_condition(&self, pk: &[Value]) -> Vec<Expr> {
        self.pk
            .iter()
            .zip(pk)
            .map(|(&i, v)| self.table.c(self.names[i]).eq(v.clone()))
            .collect()
    }

    /// The primary key values of the row of `values`, then its version value: what an
    /// UPDATE or DELETE matches the row by.
    pub fn row_key(&self, values: &[Value]) -> RowKey {
        self.pk
            .iter()
            .chain(&self.version)
            .map(|&i| values[i].clone())
            .collect()
    }

    /// The version value of a [`ModelInfo::row_key`] (`None` without a version column).
    pub fn key_version<'k>(&self, key: &'k [Value]) -> Option<&'k Value> {
        self.version.and(key.get(self.pk.len()))
    }

    /// The primary key of the row of `values` as text, for messages.
    pub fn key_text(&self, values: &[Value]) -> String {
        key_parts_text(self.pk.iter().map(|&i| values.get(i)))
    }

    /// The primary key of a [`ModelInfo::row_key`] as text, for messages.
    pub fn row_key_text(&self, key: &[Value]) -> String {
        key_parts_text(key.iter().take(self.pk.len()).map(Some))
    }
}

/// Primary key values as text: `(1, 'a')`, or `(no key yet)` while all are NULL.
fn key_parts_text<'v>(values: impl Iterator<Item = Option<&'v Value>>) -> String {
    let parts: Vec<String> = values
        .map(|v| v.map(|v| v.to_string()).unwrap_or_default())
        .collect();
    if parts.iter().all(|p| p == "NULL") {
        "(no key yet)".into()
    } else {
        format!("({})", parts.join(", "))
    }
}

/// Where one model's runtime information is kept once computed: a `static` that
/// `#[derive(Model)]` generates for each model (see [`Model::__info_slot`]).
#[doc(hidden)]
pub struct InfoSlot(OnceLock<&'static ModelInfo>);

impl InfoSlot {
    /// An empty slot.
    pub const fn new() -> Self {
        InfoSlot(OnceLock::new())
    }
}

impl Default for InfoSlot {
    fn default() -> Self {
        Self::new()
    }
}

/// The runtime information of model `M`.
pub(crate) fn model_info<M: Model>() -> Result<&'static ModelInfo> {
    let slot = &M::__info_slot().0;
    if let Some(i) = slot.get() {
        return Ok(i);
    }
    let id = TypeId::of::<M>();
    let table = M::table()
        .map_err(|e| Error::Mapping {
            model: std::any::type_name::<M>().into(),
            message: e.to_string(),
        })?
        .clone();
    let columns = column_defs::<M>();
    let pk: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.primary_key)
        .map(|(i, _)| i)
        .collect();
    if pk.is_empty() {
        return Err(Error::Mapping {
            model: std::any::type_name::<M>().into(),
            message: "no primary key: mark a field #[column(primary_key)]".into(),
        });
    }
    let autoinc = table
        .autoincrement_column()
        .and_then(|c| columns.iter().position(|d| d.name == c.name()));
    let info = ModelInfo {
        type_id: id,
        type_name: std::any::type_name::<M>(),
        names: columns.iter().map(|c| c.name).collect(),
        pk,
        version: columns.iter().position(|c| c.version),
        autoinc,
        onupdate: columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.onupdate.is_some())
            .map(|(i, _)| i)
            .collect(),
        relationships: M::relationships(),
        make: make_object::<M>,
        sql_texts: Default::default(),
        table,
        columns,
    };
    // A thread that lost a race to fill the slot leaks one copy, once.
    let leaked: &'static ModelInfo = Box::leak(Box::new(info));
    Ok(*slot.get_or_init(|| leaked))
}

/// One part of a primary key, normalised so that `Int(1)` and `BigInt(1)` are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum KeyPart {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
    Float(u64),
}

/// Value `i` of `values` as a key part; `None` when it is NULL or missing.
pub(crate) fn key_part(values: &[Value], i: usize) -> Option<KeyPart> {
    values.get(i).filter(|v| !v.is_null()).map(KeyPart::from)
}

impl From<&Value> for KeyPart {
    fn from(v: &Value) -> Self {
        match v {
            Value::SmallInt(i) => KeyPart::Int(*i as i64),
            Value::Int(i) => KeyPart::Int(*i as i64),
            Value::BigInt(i) => KeyPart::Int(*i),
            Value::Text(s) => KeyPart::Text(s.clone()),
            Value::Bytes(b) => KeyPart::Bytes(b.clone()),
            Value::Bool(b) => KeyPart::Bool(*b),
            Value::Float(f) => KeyPart::Float((*f as f64).to_bits()),
            Value::Double(f) => KeyPart::Float(f.to_bits()),
            Value::Null => KeyPart::Text(String::new()),
            #[allow(unreachable_patterns)]
            other => KeyPart::Text(other.typed_text().unwrap_or_default()),
        }
    }
}

impl From<&KeyPart> for Value {
    fn from(p: &KeyPart) -> Self {
        match p {
            KeyPart::Int(i) => Value::BigInt(*i),
            KeyPart::Text(t) => Value::Text(t.clone()),
            KeyPart::Bytes(b) => Value::Bytes(b.clone()),
            KeyPart::Bool(b) => Value::Bool(*b),
            KeyPart::Float(f) => Value::Double(f64::from_bits(*f)),
        }
    }
}

/// The parts of a primary key; a single-column key (the usual case) is stored inline,
/// so building and cloning an identity key allocates nothing.
#[derive(Debug, Clone)]
pub(crate) enum KeyParts {
    One(KeyPart),
    Many(Vec<KeyPart>),
}

impl KeyParts {
    pub fn as_slice(&self) -> &[KeyPart] {
        match self {
            KeyParts::One(p) => std::slice::from_ref(p),
            KeyParts::Many(v) => v,
        }
    }
}

impl FromIterator<KeyPart> for KeyParts {
    fn from_iter<I: IntoIterator<Item = KeyPart>>(iter: I) -> Self {
        let mut it = iter.into_iter();
        match (it.next(), it.next()) {
            (Some(p), None) => KeyParts::One(p),
            (None, _) => KeyParts::Many(Vec::new()),
            (Some(a), Some(b)) => {
                let mut v = vec![a, b];
                v.extend(it);
                KeyParts::Many(v)
            }
        }
    }
}

impl PartialEq for KeyParts {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for KeyParts {}

impl Hash for KeyParts {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

/// Builds the hasher of identity keys and other keys made of row values: a folded
/// multiply (as in aHash's fallback), far cheaper than SipHash. The keys are row data,
/// so it starts from a random per-process seed: collisions cannot be prepared offline.
#[derive(Clone, Copy)]
pub(crate) struct KeyHash(u64);

impl Default for KeyHash {
    fn default() -> Self {
        static SEED: OnceLock<u64> = OnceLock::new();
        KeyHash(*SEED.get_or_init(|| {
            use std::hash::BuildHasher;
            std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64) | 1
        }))
    }
}

impl std::hash::BuildHasher for KeyHash {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.0)
    }
}

/// See [`KeyHash`].
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.write_u64(bytes.len() as u64);
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(n as u64);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        let product = ((self.0 ^ n) as u128).wrapping_mul(0x5851_f42d_4c95_7f2d_u128);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// (model type, primary key): one object per identity per session. The key's hash is
/// computed once, when it is made: the identity map hashes nothing more, even when it
/// grows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdentityKey {
    hash: u64,
    pub type_id: TypeId,
    pub parts: KeyParts,
}

impl IdentityKey {
    /// The key as text, for messages: `(1, 'a')`.
    pub fn text(&self) -> String {
        let values: Vec<Value> = self.parts.as_slice().iter().map(Value::from).collect();
        key_parts_text(values.iter().map(Some))
    }

    pub fn new(type_id: TypeId, parts: KeyParts) -> Self {
        use std::hash::BuildHasher;
        IdentityKey {
            hash: KeyHash::default().hash_one((type_id, &parts)),
            type_id,
            parts,
        }
    }
}

impl Hash for IdentityKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The identity map: objects by identity key, hashed by the keys' own hashes. An
/// `IndexMap` rather than a `HashMap`: its table holds only indices, the entries sit in
/// one vector in insertion order, so loading many rows writes a small table and appends,
/// instead of scattering 72-byte entries over a large table (measured: 10 000 gets on
/// one session 8% to 20% faster, loads and updates no slower). Removal is `swap_remove`:
/// the order of the entries means nothing.
pub(crate) type IdentityMap<V> = indexmap::IndexMap<IdentityKey, V, BuildHasherDefault<KeyOwnHash>>;

/// Hands on an [`IdentityKey`]'s precomputed (seeded, well-mixed) hash.
#[derive(Default)]
pub(crate) struct KeyOwnHash(u64);

impl Hasher for KeyOwnHash {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `IdentityKey`; anything else still hashes.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Values usable as a primary key in `Session::get`: a single value or a tuple for a
/// composite key.
pub trait PrimaryKey {
    /// The key's values in primary-key column order.
    fn values(self) -> Vec<Value>;
}

macro_rules! pk_scalar {
    ($($t:ty),*) => {$(
        impl PrimaryKey for $t {
            fn values(self) -> Vec<Value> {
                vec![self.into()]
            }
        }
    )*};
}
pk_scalar!(i16, i32, i64, u8, u16, u32, bool, String, &str, &String, Value);

impl PrimaryKey for Vec<Value> {
    fn values(self) -> Vec<Value> {
        self
    }
}

macro_rules! pk_tuple {
    ($($n:ident),+) => {
        impl<$($n: Into<Value>),+> PrimaryKey for ($($n,)+) {
            #[allow(non_snake_case)]
            fn values(self) -> Vec<Value> {
                let ($($n,)+) = self;
                vec![$($n.into()),+]
            }
        }
    };
}
pk_tuple!(A, B);
pk_tuple!(A, B, C);
pk_tuple!(A, B, C, D);
