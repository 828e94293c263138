require "erb"

class PagesController < ApplicationController
  def preview
    # ruleid: ruby.erb-template-injection
    html = ERB.new(params[:template]).result(binding)
    # ruleid: ruby.erb-template-injection
    more = ERB.new("<h1>#{params[:title]}</h1>").result
    # ok: ruby.erb-template-injection
    safe = ERB.new(File.read("app/views/preview.erb")).result(binding)
    # ok: ruby.erb-template-injection
    fixed = ERB.new("<h1><%= title %></h1>").result_with_hash(title: params[:title])
    render html: html + more + safe + fixed
  end
end
