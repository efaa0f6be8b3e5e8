class CreateUploads < ActiveRecord::Migration[6.1]
  def change
    create_table :uploads do |t|
      t.string :name, null: false
      t.bigint :byte_size, null: false
      t.string :sha256, null: false
      t.timestamps
    end
  end
end
