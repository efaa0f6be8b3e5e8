module Api
  # User-facing listing. It names its columns on purpose: a column dropped by a newer release
  # then fails this endpoint with PG::UndefinedColumn, as real code does after a bad rollback.
  class ProjectsController < ApplicationController
    COLUMNS = %i[id name legacy_notes].freeze

    # v24.05.01.1 fix: newest projects first, as the UI always expected.
    def index
      rows = Project.order(id: :desc).pluck(*COLUMNS)
      render json: rows.map { |row| COLUMNS.zip(row).to_h }
    end

    def create
      project = Project.create!(project_params)
      # Only id and name: creating must keep working whatever columns the schema has.
      render json: { id: project.id, name: project.name }, status: :created
    end

    private

    def project_params
      params.require(:project).permit(:name, :legacy_notes, :user_id)
    end
  end
end
