//! Relationship definitions between models (loading and cascades come with the
//! relationships work; the registry already validates their targets).

use std::any::TypeId;

/// The shape of a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationshipKind {
    /// The parent holds a collection of children whose foreign key points at it.
    OneToMany,
    /// The child holds one parent through its own foreign key.
    ManyToOne,
    /// Like one-to-many, with at most one child.
    OneToOne,
    /// Both sides hold collections linked through an association table.
    ManyToMany,
}

/// A relationship from one model to another.
#[derive(Debug, Clone)]
pub struct RelationshipDef {
    /// The field name on the model.
    pub name: &'static str,
    /// The target model's type name, for messages.
    pub target_name: &'static str,
    /// The target model's `TypeId`.
    pub target_type: fn() -> TypeId,
    /// The shape.
    pub kind: RelationshipKind,
}
