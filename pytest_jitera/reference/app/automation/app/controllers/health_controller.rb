# Liveness and readiness: answers 200 only when the database answers, so a pod whose
# database is gone or being restored leaves the Service instead of serving errors.
class HealthController < ApplicationController
  def show
    ActiveRecord::Base.connection.select_value("SELECT 1")
    render json: { status: "ok", release: Rails.configuration.release }
  rescue StandardError => e
    render json: { status: "error", error: e.class.name }, status: :service_unavailable
  end
end
