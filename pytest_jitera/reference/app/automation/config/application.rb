require_relative "boot"

require "rails"
require "active_model/railtie"
require "active_record/railtie"
require "action_controller/railtie"
require "action_mailer/railtie"

Bundler.require(*Rails.groups)

module Automation
  # The "automation" service of the reference stack: the one component that owns the
  # Automation PostgreSQL schema (db/migrate) and its data migrations (db/data).
  class Application < Rails::Application
    config.load_defaults 6.1
    config.api_only = true
    # The image's file system is treated as read-only: never write db/schema.rb or
    # db/data_schema.rb after a migration.
    config.active_record.dump_schema_after_migration = false
    # A container's stdout is a pipe, block-buffered by default: without sync an error such as
    # PG::UndefinedColumn would sit in the buffer instead of reaching `kubectl logs`.
    $stdout.sync = true
    config.logger = ActiveSupport::Logger.new($stdout)
    config.log_level = ENV.fetch("RAILS_LOG_LEVEL", "info").to_sym
    config.hosts.clear
    config.release = ENV.fetch("JITERA_RELEASE", "unknown")
  end
end
