Rails.application.routes.draw do
  get "/healthz", to: "health#show"
  namespace :api do
    resources :projects, only: %i[index create]
    resources :invites, only: %i[create]
    resources :uploads, only: %i[create]
  end
end
