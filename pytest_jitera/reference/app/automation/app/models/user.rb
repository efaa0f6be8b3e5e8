class User < ApplicationRecord
  has_many :projects
end
