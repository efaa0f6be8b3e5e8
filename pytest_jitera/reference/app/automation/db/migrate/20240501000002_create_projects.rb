class CreateProjects < ActiveRecord::Migration[6.1]
  def change
    create_table :projects do |t|
      t.references :user, foreign_key: true
      t.string :name, null: false
      t.text :legacy_notes
      t.timestamps
    end
  end
end
