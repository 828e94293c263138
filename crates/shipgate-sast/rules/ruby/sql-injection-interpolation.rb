class UsersController < ApplicationController
  def index
    # ruleid: ruby.sql-injection-interpolation
    @users = User.where("name = '#{params[:name]}'")
    # ruleid: ruby.sql-injection-interpolation
    rows = ActiveRecord::Base.connection.execute("SELECT * FROM users WHERE id = " + params[:id])
    # ok: ruby.sql-injection-interpolation
    @same = User.where("name = ?", params[:name])
    # ok: ruby.sql-injection-interpolation
    @hash = User.where(name: params[:name])
    rows
  end
end
