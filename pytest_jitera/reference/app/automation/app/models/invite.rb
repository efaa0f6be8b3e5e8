class Invite < ApplicationRecord
end
