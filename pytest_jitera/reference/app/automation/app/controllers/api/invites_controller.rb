module Api
  # Inviting a user is the runbook's e-mail smoke test: the row is written first, then the
  # mail goes out over SMTP; an SMTP failure is reported as 502 so the smoke test sees it.
  class InvitesController < ApplicationController
    def create
      invite = Invite.create!(email: params.require(:email), token: SecureRandom.hex(16))
      InviteMailer.invite(invite).deliver_now
      invite.update!(sent_at: Time.current)
      render json: { id: invite.id, email: invite.email, sent: true }, status: :created
    rescue Net::SMTPError, SystemCallError, Timeout::Error, IOError, SocketError => e
      render json: { id: invite&.id, sent: false, error: "#{e.class}: #{e.message}" },
             status: :bad_gateway
    end
  end
end
