class CalcController < ApplicationController
  def run
    # ruleid: ruby.eval-dynamic
    result = eval(params[:expr])
    # ruleid: ruby.eval-dynamic
    User.class_eval("def #{params[:name]}; end")
    # ok: ruby.eval-dynamic
    two = eval("1 + 1")
    # ok: ruby.eval-dynamic
    User.class_eval { attr_accessor :nickname }
    render plain: [result, two].join
  end
end
