# Every environment behaves like production (see production.rb): the chart only runs
# RAILS_ENV=production and the tests exercise that same configuration.
require_relative "production"
