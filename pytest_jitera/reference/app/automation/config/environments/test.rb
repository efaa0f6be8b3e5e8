Rails.application.configure do
  # Every environment behaves like production: the chart only ever runs RAILS_ENV=production
  # and the tests run the same code path against a throwaway database.
  config.cache_classes = true
  config.eager_load = true
  config.consider_all_requests_local = false
  config.require_master_key = false
  config.secret_key_base = ENV.fetch("SECRET_KEY_BASE", "reference-stack-not-a-secret")
  config.active_support.deprecation = :log

  config.action_mailer.perform_deliveries = true
  config.action_mailer.raise_delivery_errors = true
  config.action_mailer.delivery_method = :smtp
  config.action_mailer.smtp_settings = {
    address: ENV.fetch("SMTP_HOST", "localhost"),
    port: Integer(ENV.fetch("SMTP_PORT", "25")),
    domain: ENV.fetch("SMTP_DOMAIN", "jitera.local"),
    user_name: ENV["SMTP_USERNAME"].presence,
    password: ENV["SMTP_PASSWORD"].presence,
    authentication: ENV["SMTP_USERNAME"].present? ? :plain : nil,
    enable_starttls_auto: ENV.fetch("SMTP_STARTTLS", "false") == "true",
    open_timeout: 5,
    read_timeout: 5,
  }
end
