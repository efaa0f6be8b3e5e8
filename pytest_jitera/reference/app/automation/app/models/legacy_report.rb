# Only the admin rake task in lib/tasks reads this table; no user-facing code does.
class LegacyReport < ApplicationRecord
end
