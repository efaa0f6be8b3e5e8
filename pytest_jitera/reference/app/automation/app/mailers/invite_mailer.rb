# The body is inline text so the image needs no view templates.
class InviteMailer < ApplicationMailer
  def invite(invite)
    mail(
      to: invite.email,
      subject: "You are invited to Jitera",
      body: "Accept your invitation with token #{invite.token}.",
      content_type: "text/plain",
    )
  end
end
