class CreateLegacyReports < ActiveRecord::Migration[6.1]
  def change
    create_table :legacy_reports do |t|
      t.string :title, null: false
      t.jsonb :payload
      t.timestamps
    end
  end
end
