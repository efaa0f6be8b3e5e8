require "openssl"
require "base64"
require "digest"

module Api
  # `jitera init` uploads are signed by the CLI's private key: the request body is signed
  # with RSA-SHA256 and the Base64 signature sent in X-Jitera-Signature. The server checks it
  # against the public key PEM mounted from the chart's Secret. A PEM whose newlines were
  # stripped cannot be parsed, so every upload then fails with 401 - the runbook's CLI check.
  class UploadsController < ApplicationController
    def create
      key = CliPublicKey.load
      return unauthorized("cli public key unreadable") unless key

      body = request.raw_post.to_s
      signature = Base64.strict_decode64(request.headers["X-Jitera-Signature"].to_s)
      return unauthorized("signature mismatch") unless key.verify("SHA256", signature, body)

      upload = Upload.create!(
        name: params[:name].presence || "upload",
        byte_size: body.bytesize,
        sha256: Digest::SHA256.hexdigest(body),
      )
      render json: { id: upload.id, sha256: upload.sha256 }, status: :created
    rescue ArgumentError
      unauthorized("signature is not Base64")
    end

    private

    def unauthorized(reason)
      render json: { error: reason }, status: :unauthorized
    end
  end
end
