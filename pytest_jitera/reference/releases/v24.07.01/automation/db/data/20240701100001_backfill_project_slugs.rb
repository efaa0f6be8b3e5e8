# Data migration (data_migrate): runs once per database. A re-upgrade after a rollback skips
# it, so projects created in the rollback window keep slug NULL (Risk B).
class BackfillProjectSlugs < ActiveRecord::Migration[6.1]
  def up
    execute <<~SQL
      UPDATE projects
      SET slug = trim(both '-' from regexp_replace(lower(name), '[^a-z0-9]+', '-', 'g')) || '-' || id
      WHERE slug IS NULL
    SQL
  end

  def down
    raise ActiveRecord::IrreversibleMigration
  end
end
