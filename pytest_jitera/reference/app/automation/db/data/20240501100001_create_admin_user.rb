# Data migration (data_migrate): the built-in administrator every installation starts with.
class CreateAdminUser < ActiveRecord::Migration[6.1]
  def up
    execute <<~SQL
      INSERT INTO users (email, name, admin, created_at, updated_at)
      VALUES ('admin@jitera.local', 'Administrator', TRUE, now(), now())
      ON CONFLICT (email) DO NOTHING
    SQL
  end

  def down
    raise ActiveRecord::IrreversibleMigration
  end
end
