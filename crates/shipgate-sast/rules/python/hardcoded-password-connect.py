import os

import psycopg2
import pymysql


def connect():
    # ruleid: python.hardcoded-password-connect
    a = psycopg2.connect(host="db", user="app", password="s3cr3t!")
    # ruleid: python.hardcoded-password-connect
    b = pymysql.connect(host="db", user="root", passwd='toor')
    # ruleid: python.hardcoded-password-connect
    c = redis.Redis(host="cache", password="redispass")
    # ok: python.hardcoded-password-connect
    d = psycopg2.connect(host="db", user="app", password=os.environ["DB_PASSWORD"])
    # ok: python.hardcoded-password-connect
    e = pymysql.connect(host="db", user="app", passwd="")
    return a, b, c, d, e
