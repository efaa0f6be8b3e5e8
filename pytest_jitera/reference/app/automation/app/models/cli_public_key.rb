require "openssl"

# The CLI's public key, read on every request so that fixing the Secret needs no restart.
module CliPublicKey
  module_function

  def pem
    path = ENV["CLI_PUBLIC_KEY_PATH"]
    return File.read(path) if path.present? && File.exist?(path)

    ENV["CLI_PUBLIC_KEY"].to_s
  end

  # nil when the PEM is missing or mangled (for example its newlines were stripped).
  def load
    OpenSSL::PKey::RSA.new(pem).tap { |key| return nil unless key.public? }
  rescue OpenSSL::PKey::PKeyError
    nil
  end
end
