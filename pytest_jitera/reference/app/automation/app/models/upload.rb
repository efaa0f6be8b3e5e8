class Upload < ApplicationRecord
end
