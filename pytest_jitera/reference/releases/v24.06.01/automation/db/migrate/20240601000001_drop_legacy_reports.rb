# Destructive: v24.05.01.x reads legacy_reports only from `rake admin:legacy_reports`.
class DropLegacyReports < ActiveRecord::Migration[6.1]
  def up
    drop_table :legacy_reports
  end

  def down
    raise ActiveRecord::IrreversibleMigration
  end
end
