use strata::*;
fn main() -> Result<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite://".into());
    let engine = create_engine(&url)?;
    let mut md = MetaData::new();
    let users = Table::build("users")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(Some(30))).not_null())
        .column(Column::new("age", SqlType::Integer).default(3))
        .add_to(&mut md)?;
    md.drop_all(&engine)?;
    md.create_all(&engine)?;
    let mut conn = engine.connect()?;
    let r = conn.execute(&insert(&users).value("name", "anna"))?;
    println!("inserted {} id {:?}", r.rows_affected(), r.last_insert_id());
    drop(r);
    conn.execute_many((0..5).map(|i| {
        insert(&users)
            .value("name", format!("u{i}"))
            .value("age", i)
    }))?;
    for row in conn.execute(&select(&users).where_(users.c("age").in_([1, 2, 3])))? {
        let row = row?;
        println!("{:?} {}", row, row.get::<String>("name")?);
    }
    let n: i64 = conn
        .execute(&select(func::count_star()).select_from(&users))?
        .scalar_one()?;
    println!("count {n}");
    let e = conn.execute(&text("SELECT * FROM nope")).unwrap_err();
    println!("err: {e}");
    {
        let mut tx = conn.begin()?;
        tx.execute(&delete(&users))?;
        let mut sp = tx.begin_nested()?;
        sp.execute(&insert(&users).value("name", "x"))?;
        sp.rollback()?;
        tx.rollback()?;
    }
    let n: i64 = conn
        .execute(&select(func::count_star()).select_from(&users))?
        .scalar_one()?;
    println!("count after rollback {n}");
    Ok(())
}
