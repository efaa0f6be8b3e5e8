# Rails 6.1 has no create_enum, hence raw SQL. Deliberately no IF NOT EXISTS: a type left
# behind by `pg_restore -c` makes the re-upgrade fail with PG::DuplicateObject (Risk C).
class CreateProjectStatusEnum < ActiveRecord::Migration[6.1]
  def up
    execute "CREATE TYPE project_status AS ENUM ('active', 'archived')"
    execute "ALTER TABLE projects ADD COLUMN status project_status NOT NULL DEFAULT 'active'"
  end

  def down
    execute "ALTER TABLE projects DROP COLUMN status"
    execute "DROP TYPE project_status"
  end
end
