class Project < ApplicationRecord
  belongs_to :user, optional: true

  before_create :assign_slug

  private

  def assign_slug
    self.slug ||= name.to_s.downcase.gsub(/[^a-z0-9]+/, "-").gsub(/\A-|-\z/, "")
  end
end
