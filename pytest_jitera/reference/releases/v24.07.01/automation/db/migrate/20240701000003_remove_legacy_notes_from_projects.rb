# Destructive: v24.06.01's user-facing projects listing reads this column (Risk A).
class RemoveLegacyNotesFromProjects < ActiveRecord::Migration[6.1]
  def change
    remove_column :projects, :legacy_notes, :text
  end
end
