# Sends one request through the automation app's Rack stack and prints the outcome as JSON.
# Exceptions are not turned into 500 pages, so a test sees e.g. PG::UndefinedColumn by name.
# Run with `bin/rails runner rack_call.rb`; the request comes from RACK_* variables.
require "json"

Rails.application.env_config["action_dispatch.show_exceptions"] = false
headers = JSON.parse(ENV.fetch("RACK_HEADERS", "{}")).transform_keys do |name|
  name.casecmp?("content-type") ? "CONTENT_TYPE" : "HTTP_#{name.upcase.tr('-', '_')}"
end
env = Rack::MockRequest.env_for(
  ENV.fetch("RACK_PATH"),
  { method: ENV.fetch("RACK_METHOD", "GET"), input: File.binread(ENV.fetch("RACK_BODY_FILE")) }
    .merge(headers),
)
result =
  begin
    status, _headers, body = Rails.application.call(env)
    text = +""
    body.each { |chunk| text << chunk }
    body.close if body.respond_to?(:close)
    { status: status, body: text }
  rescue StandardError => e
    root = e
    root = root.cause while root.cause
    { status: nil, error: e.class.name, cause: root.class.name, message: e.message }
  end
puts "RACK_RESULT #{JSON.generate(result)}"
