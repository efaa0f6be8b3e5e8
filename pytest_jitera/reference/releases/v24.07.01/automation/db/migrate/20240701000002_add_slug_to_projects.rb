# Nullable at first: db/data/20240701100001 fills it for existing rows. Rows written by older
# code after this migration ran are never filled (Risk B).
class AddSlugToProjects < ActiveRecord::Migration[6.1]
  def change
    add_column :projects, :slug, :string, null: true
    add_index :projects, :slug
  end
end
