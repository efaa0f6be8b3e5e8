module Api
  # User-facing listing; reads the columns of the v24.07.01 schema.
  class ProjectsController < ApplicationController
    COLUMNS = %i[id name slug status archived_at].freeze

    def index
      rows = Project.order(id: :desc).pluck(*COLUMNS)
      render json: rows.map { |row| COLUMNS.zip(row).to_h }
    end

    def create
      project = Project.create!(project_params)
      render json: project.slice(*COLUMNS), status: :created
    end

    private

    def project_params
      params.require(:project).permit(:name, :user_id)
    end
  end
end
