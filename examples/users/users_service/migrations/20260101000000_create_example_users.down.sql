DROP TABLE IF EXISTS example_users;
