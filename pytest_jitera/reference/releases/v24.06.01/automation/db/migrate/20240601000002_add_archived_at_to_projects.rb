class AddArchivedAtToProjects < ActiveRecord::Migration[6.1]
  def change
    add_column :projects, :archived_at, :datetime, null: true
  end
end
